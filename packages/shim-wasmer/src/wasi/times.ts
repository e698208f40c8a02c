import { native, UTIME_NOW, UTIME_OMIT } from "@wasm-shims/shim-core/native";
import { E, fail, FSTFLAGS } from "./abi.ts";

/**
 * utimensat(2) on a host path: times in nanoseconds, or UTIME_NOW / UTIME_OMIT. Throws an Error
 * whose `code` names the errno, as Node's fs does.
 */
export type Utimensat = (path: string, atime: bigint, mtime: bigint, nofollow: boolean) => void;

/** The shim's native helper, loaded in this thread: for a layer that runs where it can be loaded. */
export const directUtimensat: Utimensat = (path, atime, mtime, nofollow) =>
  native().utimensat(path, atime, mtime, { nofollow });

/** The largest time the native helper takes: nanoseconds since the epoch in an i64 (the year 2262). */
const MAX_NS = (1n << 63n) - 1n;

/**
 * fd_filestat_set_times / path_filestat_set_times, to the nanosecond, through `utimensat`: Node's
 * utimes goes through a double and libuv keeps whole microseconds. `path` is a host path; an open
 * fd is named by /proc/self/fd/N, which the kernel follows to the open file, so the times land on
 * what the fd holds even after a rename. `follow`: a final symlink is followed. An omitted time is
 * left as it is (UTIME_OMIT), not read and written back.
 */
export function setTimes(
  utimensat: Utimensat,
  path: string,
  follow: boolean,
  atim: bigint,
  mtim: bigint,
  flags: number,
): void {
  if (flags & ~0xf) fail(E.INVAL);
  const pick = (set: number, now: number, value: bigint) => {
    if (flags & set && flags & now) fail(E.INVAL);
    if (flags & now) return UTIME_NOW;
    if (!(flags & set)) return UTIME_OMIT;
    return value <= MAX_NS ? value : fail(E.INVAL);
  };
  const atime = pick(FSTFLAGS.ATIM, FSTFLAGS.ATIM_NOW, atim);
  const mtime = pick(FSTFLAGS.MTIM, FSTFLAGS.MTIM_NOW, mtim);
  utimensat(path, atime, mtime, !follow);
}

/** The path setTimes takes for an open host fd. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;
