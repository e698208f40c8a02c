import { lstatSync, statSync, type BigIntStats } from "node:fs";
import { native, UTIME_NOW } from "../../sea/native.ts";
import { Errno, Fstflags, wasiErrno } from "./abi.ts";

/**
 * fstflags uvwasi refuses; checked before calling it, because uvwasi's path_filestat_set_times
 * returns INVAL with the directory fd's lock still held, and the guest's next call on that fd
 * never returns.
 */
export function invalidFstflags(fst: number): boolean {
  const both = (set: number, now: number) => (fst & (set | now)) === (set | now);
  return (fst & ~0xf) !== 0 || both(Fstflags.ATIM, Fstflags.ATIM_NOW) || both(Fstflags.MTIM, Fstflags.MTIM_NOW);
}

/** The file's times before uvwasi touches them, or undefined when it cannot be read. */
export function timesBefore(host: string, nofollow: boolean): BigIntStats | undefined {
  try {
    return (nofollow ? lstatSync : statSync)(host, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * After uvwasi set a file's times, which it does to the whole second (libuv's utime takes seconds)
 * and for an omitted time by writing back the old one, also to the second: sets them again to the
 * nanosecond, each as the guest asked (a value, now, or what it was before).
 */
export function setTimesExactly(
  host: string,
  before: BigIntStats,
  atim: bigint,
  mtim: bigint,
  fst: number,
  nofollow: boolean,
): number {
  const pick = (set: number, now: number, value: bigint, old: bigint) =>
    fst & set ? value : fst & now ? UTIME_NOW : old;
  const atime = pick(Fstflags.ATIM, Fstflags.ATIM_NOW, atim, before.atimeNs);
  const mtime = pick(Fstflags.MTIM, Fstflags.MTIM_NOW, mtim, before.mtimeNs);
  // An i64 past 2262 arrives negative: leave uvwasi's result.
  if (atime < UTIME_NOW || mtime < UTIME_NOW) return Errno.SUCCESS;
  try {
    native().utimensat(host, atime, mtime, { nofollow });
  } catch (err) {
    return wasiErrno(err);
  }
  return Errno.SUCCESS;
}
