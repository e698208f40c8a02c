import { native } from "../sea/native.ts";
import {
  MNT_DETACH,
  mountRootfs,
  unmountAll,
  type RootfsMount,
  type RootfsMounter,
  type SystemCalls,
} from "./mount.ts";
import { isBindMount } from "./mount-policy.ts";

// Linux's mount flags (<sys/mount.h>).
const MS_RDONLY = 1;
const MS_REMOUNT = 32;
const MS_BIND = 4096;
const MS_REC = 16384;

/** The options mount(8) turns into flags: each sets its flag, or clears it. */
const FLAGS: Record<string, { flag: number; clear?: true }> = {
  ro: { flag: MS_RDONLY },
  rw: { flag: MS_RDONLY, clear: true },
  nosuid: { flag: 2 },
  suid: { flag: 2, clear: true },
  nodev: { flag: 4 },
  dev: { flag: 4, clear: true },
  noexec: { flag: 8 },
  exec: { flag: 8, clear: true },
  sync: { flag: 16 },
  async: { flag: 16, clear: true },
  dirsync: { flag: 128 },
  noatime: { flag: 1024 },
  atime: { flag: 1024, clear: true },
  nodiratime: { flag: 2048 },
  diratime: { flag: 2048, clear: true },
  relatime: { flag: 1 << 21 },
  norelatime: { flag: 1 << 21, clear: true },
  strictatime: { flag: 1 << 24 },
  nostrictatime: { flag: 1 << 24, clear: true },
  lazytime: { flag: 1 << 25 },
  nolazytime: { flag: 1 << 25, clear: true },
};
/** Propagation changes are calls of their own, after the mount. */
const PROPAGATION: Record<string, number> = {
  unbindable: 1 << 17,
  runbindable: (1 << 17) | MS_REC,
  private: 1 << 18,
  rprivate: (1 << 18) | MS_REC,
  slave: 1 << 19,
  rslave: (1 << 19) | MS_REC,
  shared: 1 << 20,
  rshared: (1 << 20) | MS_REC,
};
/** mount(2) takes at most a page of data (the overlay's layer paths). */
const MAX_DATA = 4095;

export interface MountCall {
  source: string | null;
  fstype: string | null;
  flags: number;
  data: string | null;
}

/**
 * The mount(2) calls that put `m` on its target, as mount(8) makes them: for a bind, the bind
 * (recursive for rbind) and, when `ro`, a read-only remount (the rest of a bind's options are
 * ignored, as `mount --bind` ignores them); otherwise the flags the options name, the other
 * options as data, then each propagation change. Undefined when it would take more than a page
 * of data: mount(8) is left to refuse it.
 */
export function mountCalls(m: RootfsMount): MountCall[] | undefined {
  if (isBindMount(m)) {
    const bind = MS_BIND | (m.type === "rbind" || m.options.includes("rbind") ? MS_REC : 0);
    const calls: MountCall[] = [{ source: m.source, fstype: null, flags: bind, data: null }];
    if (m.options.includes("ro"))
      calls.push({ source: null, fstype: null, flags: MS_REMOUNT | MS_BIND | MS_RDONLY, data: null });
    return calls;
  }
  let flags = 0;
  const data: string[] = [];
  const propagation: number[] = [];
  for (const option of m.options) {
    const f = FLAGS[option];
    if (f) flags = f.clear ? flags & ~f.flag : flags | f.flag;
    else if (PROPAGATION[option] !== undefined) propagation.push(PROPAGATION[option]);
    else data.push(option);
  }
  const joined = data.join(",");
  if (Buffer.byteLength(joined) > MAX_DATA) return undefined;
  return [
    { source: m.source, fstype: m.type, flags, data: joined || null },
    ...propagation.map((p) => ({ source: null, fstype: null, flags: p, data: null })),
  ];
}

/** Mounts `m` on `dest` by system call; false when it cannot be done that way (no native helper, too much data). */
export function mountNatively(m: RootfsMount, dest: string): boolean {
  const calls = mountCalls(m);
  if (!calls) return false;
  let n: ReturnType<typeof native>;
  try {
    n = native();
  } catch {
    return false;
  }
  for (const [i, c] of calls.entries()) {
    try {
      n.mount(c.source, dest, c.fstype, c.flags, c.data);
    } catch (err) {
      if (i > 0) unmountNatively(dest, MNT_DETACH);
      throw err;
    }
  }
  return true;
}

/**
 * umount2(2) on `path`: "done" (nothing more mounted there either), "busy", or "failed" (say
 * why on the next try with MNT_DETACH); undefined without the native helper.
 */
export function unmountNatively(path: string, flags = 0): "done" | "busy" | "failed" | undefined {
  let n: ReturnType<typeof native>;
  try {
    n = native();
  } catch {
    return undefined;
  }
  try {
    n.umount(path, flags);
    return "done";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "EBUSY" ? "busy" : code === "EINVAL" ? "done" : "failed";
  }
}

const systemCalls: SystemCalls = { mount: mountNatively, unmount: unmountNatively };

/** The daemon's: system calls through the native helper, mount(8) and umount(8) without it. */
export const hostMounter: RootfsMounter = {
  mount: (mounts, target) => mountRootfs(mounts, target, systemCalls),
  unmount: (target) => unmountAll(target, systemCalls),
};
