import { spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// What the helper runs, in a mount namespace of its own: bind each source read-only onto its
// placeholder, say so, and stay until the shim has opened them (its stdin closes).
const SCRIPT = `set -e
dir=$1; shift; i=0
for src in "$@"; do
  mount --bind "$src" "$dir/$i"
  mount -o remount,bind,ro,nosuid,nodev "$dir/$i"
  i=$((i + 1))
done
echo ready
read -r _ || true
`;

/**
 * Opens each path read-only through a read-only bind mount that exists only in a throwaway mount
 * namespace. A container handed such an fd can reopen it through /proc/<pid>/fd/N (any process
 * that may ptrace the holder can), but only for reading: the mount is read-only, so a write is
 * EROFS, where an fd opened straight from the host's root file system would let a root container
 * write the host's libc. The host's mount table never changes (nothing to leak if the shim dies),
 * and the fd names no host path (readlink shows "/").
 */
export async function openReadOnly(paths: readonly string[], timeoutMs = 10_000): Promise<number[]> {
  if (paths.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "wasm-shim-ro-"));
  try {
    paths.forEach((path, i) =>
      statSync(path).isDirectory() ? mkdirSync(join(dir, String(i))) : writeFileSync(join(dir, String(i)), ""),
    );
    return await withPrivateMounts(dir, paths, timeoutMs, (pid) => {
      const fds: number[] = [];
      try {
        for (let i = 0; i < paths.length; i++) fds.push(openSync(`/proc/${pid}/root${dir}/${i}`, "r"));
      } catch (err) {
        fds.forEach((fd) => closeSync(fd));
        throw err;
      }
      return fds;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withPrivateMounts<T>(
  dir: string,
  paths: readonly string[],
  timeoutMs: number,
  use: (pid: number) => T,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sh", dir, ...paths], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    let settled = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdin.end();
      if (err) {
        child.kill("SIGKILL");
        reject(err);
      } else resolve(value as T);
    };
    const timer = setTimeout(
      () => finish(new Error(`opening the runner's files read-only timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.stdin.on("error", () => {});
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) =>
      finish(new Error(`cannot run unshare to open the runner's files read-only: ${err.message}`)),
    );
    child.on("exit", (code) =>
      finish(
        new Error(`opening the runner's files read-only failed (status ${code}): ${stderr.trim() || "no output"}`),
      ),
    );
    child.stdout.on("data", (d: Buffer) => {
      if (!d.toString().includes("ready")) return;
      try {
        finish(undefined, use(child.pid!));
      } catch (err) {
        finish(err as Error);
      }
    });
  });
}
