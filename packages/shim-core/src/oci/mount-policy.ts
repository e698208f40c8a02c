/**
 * What the shim will mount, as root, on the host for a Create request's rootfs: the overlay and
 * bind mounts containerd's snapshotters produce, with the options they use, onto a directory inside
 * the bundle's rootfs. Anything else (another filesystem type, a loop device, a remount, a helper
 * program, a target outside the rootfs or through a symlink) is refused before `mount` runs.
 */
import { lstat, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { invalidArgument } from "../errors.ts";
import type { RootfsMount } from "./mount.ts";

/** Flags mount(8) turns into mount(2) flags; none creates devices, runs helpers or moves mounts. */
const flags = new Set(
  "ro rw bind rbind nosuid suid nodev dev noexec exec noatime atime nodiratime diratime relatime norelatime strictatime nostrictatime lazytime nolazytime sync async dirsync private rprivate shared rshared slave rslave unbindable runbindable".split(
    " ",
  ),
);
/** overlayfs options (key or key=value) that containerd's overlay snapshotter and its users set. */
const overlayKeys = new Set([
  "lowerdir",
  "upperdir",
  "workdir",
  "index",
  "redirect_dir",
  "metacopy",
  "xino",
  "nfs_export",
  "uuid",
  "volatile",
  "userxattr",
  "default_permissions",
]);
const overlayPaths = new Set(["lowerdir", "upperdir", "workdir"]);
export const MAX_ROOTFS_MOUNTS = 64;

export const isBindMount = (m: RootfsMount) =>
  m.type === "bind" || m.type === "rbind" || m.options.includes("bind") || m.options.includes("rbind");

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function checkOverlayOption(key: string, value: string | undefined, at: string): Promise<void> {
  if (!overlayPaths.has(key) || value === undefined) return;
  // Lower layers are colon-separated (escaped colons are not used by containerd).
  for (const dir of key === "lowerdir" ? value.split(":") : [value]) {
    if (!isAbsolute(dir)) throw invalidArgument(`${at}: ${key} ${JSON.stringify(dir)} is not an absolute path`);
    if (!(await isDirectory(dir))) throw invalidArgument(`${at}: ${key} ${dir} is not a directory`);
  }
}

async function checkOne(m: RootfsMount, at: string): Promise<void> {
  const bind = isBindMount(m);
  if (!bind && m.type !== "overlay") {
    throw invalidArgument(
      `${at}: type ${JSON.stringify(m.type.slice(0, 64))} is not supported: the shim mounts only overlay and bind snapshots`,
    );
  }
  if (m.source === "" || m.source.startsWith("-") || m.source.includes("\0"))
    throw invalidArgument(`${at}: source ${JSON.stringify(m.source.slice(0, 256))} is not valid`);
  if (bind && !(isAbsolute(m.source) && (await isDirectory(m.source))))
    throw invalidArgument(`${at}: bind source ${m.source.slice(0, 256)} is not a directory`);
  for (const option of m.options) {
    const eq = option.indexOf("=");
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? undefined : option.slice(eq + 1);
    const allowed = flags.has(option) || (!bind && overlayKeys.has(key));
    if (!allowed || option.includes(",") || option.includes("\0"))
      throw invalidArgument(
        `${at}: option ${JSON.stringify(option.slice(0, 64))} is not allowed for a ${bind ? "bind" : "overlay"} rootfs`,
      );
    if (!bind) await checkOverlayOption(key, value, at);
  }
}

/** Refuses, naming the mount and the reason, any rootfs mount the shim must not make. */
export async function checkRootfsMounts(mounts: readonly RootfsMount[]): Promise<void> {
  if (mounts.length > MAX_ROOTFS_MOUNTS)
    throw invalidArgument(`${mounts.length} rootfs mounts; at most ${MAX_ROOTFS_MOUNTS} are supported`);
  for (const [i, m] of mounts.entries()) await checkOne(m, `rootfs mount ${i} (${m.type.slice(0, 64)})`);
}

/**
 * Where a mount with `target` goes below `rootfs`: each component must already be a directory and
 * none a symlink, which would let an image (mounted by an earlier entry) send the mount anywhere.
 */
export async function mountPoint(rootfs: string, target: string | undefined, at: string): Promise<string> {
  const parts = (target ?? "").split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..") || (target ?? "").includes("\0"))
    throw invalidArgument(`${at}: target ${JSON.stringify(target)} leaves the rootfs`);
  let path = rootfs;
  for (const part of parts) {
    path = `${path}/${part}`;
    const s = await lstat(path).catch(() => undefined);
    if (!s) throw invalidArgument(`${at}: target ${target} does not exist in the rootfs`);
    if (s.isSymbolicLink()) throw invalidArgument(`${at}: target ${target} goes through a symlink`);
    if (!s.isDirectory()) throw invalidArgument(`${at}: target ${target} is not a directory`);
  }
  return path;
}
