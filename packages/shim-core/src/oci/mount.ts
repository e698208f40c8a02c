import { mkdir, readFile } from "node:fs/promises";
import { execFile } from "../run-helper.ts";
import { invalidArgument } from "../errors.ts";
import { checkRootfsMounts, isBindMount, mountPoint } from "./mount-policy.ts";

export interface RootfsMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/**
 * Puts containerd's snapshot mounts on a container's rootfs and takes them off again. The Task
 * service is handed one: the host's in the daemon (host-mounter.ts: system calls through the
 * native helper, mount(8) without it), a fake in unit tests.
 */
export interface RootfsMounter {
  /** Refuses mounts the policy does not allow (mount-policy.ts); undoes its own work on failure. */
  mount(mounts: readonly RootfsMount[], target: string): Promise<void>;
  /** Takes off everything stacked on `target`; nothing mounted there is no error. */
  unmount(target: string): Promise<void>;
}

// Every argument the client chose comes after "--" and after the policy check; "-i" keeps mount(8)
// from running /sbin/mount.<type> helpers.
async function run(args: string[]): Promise<void> {
  const result = await execFile("mount", ["-i", ...args]);
  // Everything mounted came from the request, so a mount the kernel refuses is the client's mistake.
  if (result.code !== 0)
    throw invalidArgument(`cannot mount the rootfs: mount ${args.join(" ")}: ${result.stderr.trim()}`);
}

/**
 * Mount and unmount by system call (host-mounter.ts): false / undefined where it cannot, and
 * mount(8) / umount(8) do it. Handed in so that `delete`, which runs from the executable's small
 * boot script, never loads the native helper.
 */
export interface SystemCalls {
  mount(m: RootfsMount, dest: string): boolean;
  /** umount2 with `flags`: "done" (also when nothing was mounted), "busy", "failed". */
  unmount(path: string, flags?: number): "done" | "busy" | "failed" | undefined;
}
/** umount2's lazy detach. */
export const MNT_DETACH = 2;

/** Mounts containerd's snapshot mounts (overlay or bind) onto `target`, in order; undoes them on failure. */
export async function mountRootfs(mounts: readonly RootfsMount[], target: string, calls?: SystemCalls): Promise<void> {
  await checkRootfsMounts(mounts);
  await mkdir(target, { recursive: true, mode: 0o711 });
  const done: string[] = [];
  try {
    for (const [i, m] of mounts.entries()) {
      const dest = await mountPoint(target, m.target, `rootfs mount ${i}`);
      if (calls && mountedNatively(calls, m, dest)) {
        done.push(dest);
        continue;
      }
      if (isBindMount(m)) {
        await run([m.options.includes("rbind") ? "--rbind" : "--bind", "--", m.source, dest]);
        if (m.options.includes("ro")) await run(["-o", "remount,bind,ro", "--", dest]);
      } else {
        const args = ["-t", m.type];
        if (m.options.length > 0) args.push("-o", m.options.join(","));
        await run([...args, "--", m.source, dest]);
      }
      done.push(dest);
    }
  } catch (err) {
    for (const dest of done.reverse()) await unmountAll(dest, calls);
    throw err;
  }
}

/** True if something is mounted exactly at `path` (per /proc/self/mountinfo). */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return info.split("\n").some((line) => line.split(" ")[4] === escaped);
}

function mountedNatively(calls: SystemCalls, m: RootfsMount, dest: string): boolean {
  try {
    return calls.mount(m, dest);
  } catch (err) {
    // As with mount(8): everything mounted came from the request.
    throw invalidArgument(`cannot mount the rootfs: ${m.type} ${m.source} on ${dest}: ${(err as Error).message}`);
  }
}

/** Unmounts every layer stacked on `path`, retrying while busy (as runc's shim does). */
export async function unmountAll(path: string, calls?: SystemCalls): Promise<void> {
  for (let attempt = 0; attempt < 50 && (await isMountPoint(path)); attempt++) {
    const natively = calls?.unmount(path);
    if (natively === "busy") await new Promise((r) => setTimeout(r, 50));
    else if (natively === "failed") calls?.unmount(path, MNT_DETACH);
    if (natively !== undefined) continue;
    const result = await execFile("umount", [path]);
    if (result.code !== 0) {
      if (!/busy/i.test(result.stderr)) {
        await execFile("umount", ["-l", path]);
      } else {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** mount(8) and umount(8) only: the host's mounter without the native helper (host-mounter.ts has both). */
export const commandMounter: RootfsMounter = { mount: mountRootfs, unmount: unmountAll };
