import { fstatSync } from "node:fs";
import { SUBSCRIPTION_SIZE as SUBSCRIPTION } from "@wasm-shims/shim-core/worker";
import { E, errnoOf, EVENT_SIZE as EVENT, EVENTTYPE, FILETYPE } from "./abi.ts";
import type { FdTable } from "./fds.ts";
import type { GuestMemory } from "./memory.ts";
import type { Fn } from "./preview1.ts";
import { relativeSleep, sleep } from "./sleep.ts";

const { FD_READ, FD_WRITE } = EVENTTYPE;

/**
 * poll_oneoff over two owners of fds; a call that only sleeps sleeps here (sleep.ts). Subscriptions
 * on the base's fds (stdio, which may block) go to the base, renumbered in place for the call.
 * Files and directories never block, so if any subscription names one of ours (or no open fd),
 * those are answered at once and nothing waits.
 */
export function pollOneoff(
  ctx: { mem: GuestMemory; table: FdTable; base: Record<string, Fn> },
  inPtr: number,
  outPtr: number,
  n: number,
  nevents: number,
): number {
  const { mem, table, base } = ctx;
  try {
    const timeouts = relativeSleep(mem, inPtr, n);
    if (timeouts) return sleep(mem, timeouts, inPtr, outPtr, nevents);
  } catch (err) {
    return errnoOf(err);
  }
  const ready: number[] = [];
  const renumbered: [ptr: number, guest: number, base: number][] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = inPtr + i * SUBSCRIPTION;
      const tag = mem.view.getUint8(s + 8);
      if (tag !== FD_READ && tag !== FD_WRITE) continue;
      const fd = mem.u32(s + 16);
      const e = table.find(fd);
      if (e?.kind !== "base") ready.push(i);
      else if (e.fd !== fd) renumbered.push([s + 16, fd, e.fd]);
    }
  } catch (err) {
    return errnoOf(err);
  }
  if (ready.length === 0) {
    for (const [ptr, , fd] of renumbered) mem.setU32(ptr, fd);
    try {
      return base.poll_oneoff!(inPtr, outPtr, n, nevents);
    } finally {
      for (const [ptr, fd] of renumbered) mem.setU32(ptr, fd);
    }
  }
  try {
    ready.forEach((i, k) => {
      const s = inPtr + i * SUBSCRIPTION;
      const ev = outPtr + k * EVENT;
      const tag = mem.view.getUint8(s + 8);
      const e = table.find(mem.u32(s + 16));
      let nbytes = 0;
      if (e?.kind === "host" && tag === FD_READ && e.type === FILETYPE.REGULAR_FILE)
        nbytes = Math.max(0, fstatSync(e.fd).size - e.pos);
      mem.bytes(ev, EVENT).fill(0);
      mem.setU64(ev, mem.view.getBigUint64(s, true));
      mem.setU16(ev + 8, e ? E.SUCCESS : E.BADF);
      mem.setU8(ev + 10, tag);
      mem.setU64(ev + 16, nbytes);
    });
    mem.setU32(nevents, ready.length);
    return E.SUCCESS;
  } catch (err) {
    return errnoOf(err);
  }
}
