import { spawn } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../sea/native.ts";

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

/** How the read-only mounts are made: detached mounts (Linux 5.12), or a throwaway namespace. */
export type ReadOnlyWay = "detached" | "namespace";

/** What says "this kernel or its seccomp profile has no detached mounts": use the namespace. */
const NO_DETACHED = new Set(["ENOSYS", "EPERM", "EINVAL", "EOPNOTSUPP"]);

/**
 * Opens each path read-only through a read-only bind mount of it that is in no mount table: a
 * detached mount (open_tree + mount_setattr, one system call each, no process), else a mount in a
 * throwaway mount namespace (a shell running `mount` twice per path: 22 processes for a runner's
 * ten files, 220-350 ms in six runs on a loaded machine; the detached way took 2.6 ms for four).
 *
 * A container handed such an fd can reopen it through /proc/<pid>/fd/N (any process that may
 * ptrace the holder can), but only for reading: the mount is read-only, so a write is EROFS,
 * where an fd opened straight from the host's root file system would let a root container write
 * the host's libc. The host's mount table never changes (nothing to leak if the shim dies),
 * and the fd names no host path (readlink shows "/").
 */
export async function openReadOnly(
  paths: readonly string[],
  opts: { timeoutMs?: number; way?: ReadOnlyWay } = {},
): Promise<number[]> {
  if (paths.length === 0) return [];
  if (opts.way !== "namespace") {
    const fds = openDetached(paths, opts.way === "detached");
    if (fds) return fds;
  }
  return openInNamespace(paths, opts.timeoutMs ?? 10_000);
}

/** The fds, or undefined when detached mounts are not to be had here (and `must` is false). */
function openDetached(paths: readonly string[], must: boolean): number[] | undefined {
  const fds: number[] = [];
  try {
    const n = native();
    for (const path of paths) fds.push(n.openReadOnlyMount(path));
    return fds;
  } catch (err) {
    fds.forEach((fd) => closeSync(fd));
    const code = (err as NodeJS.ErrnoException).code;
    if (!must && (code === undefined || NO_DETACHED.has(code))) return undefined;
    throw new Error(`opening the runner's files read-only failed: ${(err as Error).message}`);
  }
}

async function openInNamespace(paths: readonly string[], timeoutMs: number): Promise<number[]> {
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
