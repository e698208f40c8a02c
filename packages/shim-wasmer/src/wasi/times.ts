import { futimesSync, lutimesSync, utimesSync, type BigIntStats } from "node:fs";
import { E, fail, FSTFLAGS } from "./abi.ts";

type Which = "atime" | "mtime";
interface Exact {
  /** What the host stored when the guest set it, and what the guest asked for. */
  host: Partial<Record<Which, bigint>>;
  exact: Partial<Record<Which, bigint>>;
}

/**
 * File times at the precision a guest sets them. Node's utimes takes seconds as a double and libuv
 * keeps whole microseconds, so a time set to the nanosecond would come back changed. The exact
 * value is remembered per inode and reported for as long as the host still holds the time it was
 * given; any other change to the file's times (a write, another process) wins.
 */
export class Times {
  readonly #exact = new Map<string, Exact>();

  /** atim, mtim, ctim in nanoseconds, as the guest should see them. */
  report(st: BigIntStats): [bigint, bigint, bigint] {
    const e = this.#exact.get(key(st));
    const pick = (w: Which, host: bigint) => (e?.host[w] === host ? e.exact[w]! : host);
    return [pick("atime", st.atimeNs), pick("mtime", st.mtimeNs), st.ctimeNs];
  }

  /**
   * fd_filestat_set_times / path_filestat_set_times. `target` is an open fd, or a path set with or
   * without following a final symlink; `stat` reads the same object again.
   */
  set(target: number | { path: string; follow: boolean }, stat: () => BigIntStats, atim: bigint, mtim: bigint, flags: number): void {
    if (flags & ~0xf) fail(E.INVAL);
    if ((flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) || (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW)) fail(E.INVAL);
    const before = stat();
    const [curA, curM] = this.report(before);
    const now = BigInt(Date.now()) * 1_000_000n;
    const a = flags & FSTFLAGS.ATIM ? atim : flags & FSTFLAGS.ATIM_NOW ? now : curA;
    const m = flags & FSTFLAGS.MTIM ? mtim : flags & FSTFLAGS.MTIM_NOW ? now : curM;
    if (typeof target === "number") futimesSync(target, seconds(a), seconds(m));
    else (target.follow ? utimesSync : lutimesSync)(target.path, seconds(a), seconds(m));
    const after = stat();
    this.#exact.set(key(after), { host: { atime: after.atimeNs, mtime: after.mtimeNs }, exact: { atime: a, mtime: m } });
  }
}

const key = (st: BigIntStats) => `${st.dev}:${st.ino}`;
/**
 * Seconds as the double libuv wants. libuv truncates to whole microseconds, and a double near
 * 1.7e9 s is only good to a quarter of one, so aim at the middle of the microsecond.
 */
const seconds = (ns: bigint) => (Number(ns / 1000n) + 0.5) / 1e6;
