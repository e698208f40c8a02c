import { describe, expect, it } from "vitest";
import { GuestMemory } from "../../src/wasi/memory.ts";
import { relativeSleep, sleep } from "../../src/wasi/sleep.ts";

const memory = new WebAssembly.Memory({ initial: 1 });
const mem = new GuestMemory(() => memory);
const view = () => new DataView(memory.buffer);

/** Writes subscription `i` at 0: a clock (tag 0) unless `tag` says otherwise. */
function subscribe(i: number, s: { userdata: bigint; timeout?: bigint; clock?: number; flags?: number; tag?: number }) {
  const at = i * 48;
  new Uint8Array(memory.buffer, at, 48).fill(0);
  view().setBigUint64(at, s.userdata, true);
  view().setUint8(at + 8, s.tag ?? 0);
  view().setUint32(at + 16, s.clock ?? 1, true);
  view().setBigUint64(at + 24, s.timeout ?? 0n, true);
  view().setUint16(at + 40, s.flags ?? 0, true);
}

describe("a poll_oneoff that only sleeps, in the preview1 layer", () => {
  it("is a relative wall or monotonic clock in every subscription, and nothing else", () => {
    subscribe(0, { userdata: 1n, timeout: 5n, clock: 0 });
    subscribe(1, { userdata: 2n, timeout: 7n, clock: 1 });
    expect(relativeSleep(mem, 0, 2)).toEqual([5n, 7n]);
    expect(relativeSleep(mem, 0, 0)).toBeUndefined();
    subscribe(1, { userdata: 2n, timeout: 7n, flags: 1 }); // an absolute deadline: the SDK's
    expect(relativeSleep(mem, 0, 2)).toBeUndefined();
    subscribe(1, { userdata: 2n, timeout: 7n, clock: 2 }); // CPU time: the SDK's
    expect(relativeSleep(mem, 0, 2)).toBeUndefined();
    subscribe(1, { userdata: 2n, tag: 1 }); // an fd: the layer's poll
    expect(relativeSleep(mem, 0, 2)).toBeUndefined();
    expect(relativeSleep(mem, memory.buffer.byteLength - 40, 1)).toBeUndefined();
  });

  it("waits for the shortest timeout and reports each clock that has expired by then", () => {
    subscribe(0, { userdata: 11n, timeout: 3_600_000_000_000n });
    subscribe(1, { userdata: 22n, timeout: 20_000_000n });
    subscribe(2, { userdata: 33n, timeout: 20_000_000n });
    const out = 4096;
    const nevents = 8192;
    const start = process.hrtime.bigint();
    expect(sleep(mem, relativeSleep(mem, 0, 3)!, 0, out, nevents)).toBe(0);
    expect(process.hrtime.bigint() - start).toBeGreaterThanOrEqual(20_000_000n);
    expect(view().getUint32(nevents, true)).toBe(2);
    expect([view().getBigUint64(out, true), view().getBigUint64(out + 32, true)]).toEqual([22n, 33n]);
    expect([view().getUint16(out + 8, true), view().getUint8(out + 10)]).toEqual([0, 0]);
  });

  it("refuses events it could not write before it waits", () => {
    subscribe(0, { userdata: 1n, timeout: 3_600_000_000_000n });
    // An hour's sleep: were the check after the wait, the test would time out.
    expect(() => sleep(mem, [3_600_000_000_000n], 0, memory.buffer.byteLength - 8, 0)).toThrow(RangeError);
  });
});
