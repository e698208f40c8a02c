import { SUBSCRIPTION_SIZE as SUBSCRIPTION } from "@wasm-shims/shim-core/worker";
import { EVENT_SIZE as EVENT, EVENTTYPE } from "./abi.ts";
import type { GuestMemory } from "./memory.ts";

// A subscription: userdata u64 @0, tag u8 @8; a clock's id u32 @16, timeout u64 @24, flags u16 @40.
const { CLOCK } = EVENTTYPE;
const ABSTIME = 1;
/** Wall and monotonic time: a relative timeout on either is a duration. */
const MONOTONIC = 1;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The timeouts of a poll_oneoff that only sleeps: every subscription a relative clock on the wall
 * or monotonic clock (nanosleep, Rust's thread::sleep). Undefined for anything else (fds, absolute
 * deadlines, CPU-time clocks), which the SDK's poll serves.
 */
export function relativeSleep(mem: GuestMemory, inPtr: number, n: number): bigint[] | undefined {
  if (n === 0) return undefined;
  const view = mem.view;
  const timeouts: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const s = inPtr + i * SUBSCRIPTION;
    if (s + SUBSCRIPTION > view.byteLength) return undefined;
    if (view.getUint8(s + 8) !== CLOCK || view.getUint32(s + 16, true) > MONOTONIC) return undefined;
    if ((view.getUint16(s + 40, true) & ABSTIME) !== 0) return undefined;
    timeouts.push(view.getBigUint64(s + 24, true));
  }
  return timeouts;
}

/**
 * Sleeps this thread until the earliest timeout, then reports every clock that has expired. The
 * SDK would sleep by handing a timer to another worker of its own (started for the purpose, a
 * whole V8 isolate beside the guest's) and wait for it to wake this one; the thread waits either
 * way, and SIGTERM ends the process from the runner's main thread whatever this one is doing.
 */
export function sleep(mem: GuestMemory, timeouts: bigint[], inPtr: number, outPtr: number, nevents: number): number {
  // Where the events go must be the guest's before it waits (a bad pointer is FAULT at once).
  mem.bytes(outPtr, timeouts.length * EVENT);
  mem.bytes(nevents, 4);
  const start = process.hrtime.bigint();
  const shortest = timeouts.reduce((a, b) => (b < a ? b : a));
  for (let left = shortest; left > 0n; left = shortest - (process.hrtime.bigint() - start)) {
    Atomics.wait(sleeper, 0, 0, Number(left) / 1e6);
  }
  const elapsed = process.hrtime.bigint() - start;
  let count = 0;
  timeouts.forEach((timeout, i) => {
    if (timeout > elapsed && timeout !== shortest) return;
    const ev = outPtr + count++ * EVENT;
    mem.bytes(ev, EVENT).fill(0);
    mem.setU64(ev, mem.view.getBigUint64(inPtr + i * SUBSCRIPTION, true));
    mem.setU8(ev + 10, CLOCK);
  });
  mem.setU32(nevents, count);
  return 0;
}
