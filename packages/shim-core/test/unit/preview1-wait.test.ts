import { describe, expect, it } from "vitest";
import { IDLE_WAIT_NS, pollWaits, SUBSCRIPTION_SIZE } from "../../src/wasm/preview1/wait.ts";

type Sub = { clock: bigint; absolute?: boolean } | { fd: number };

/** Subscriptions laid out as a guest writes them for poll_oneoff. */
function subscriptions(...subs: Sub[]): Uint8Array {
  const bytes = new Uint8Array(subs.length * SUBSCRIPTION_SIZE);
  const view = new DataView(bytes.buffer);
  subs.forEach((s, i) => {
    const at = i * SUBSCRIPTION_SIZE;
    view.setBigUint64(at, BigInt(i), true);
    if ("fd" in s) {
      view.setUint8(at + 8, 1);
      view.setUint32(at + 16, s.fd, true);
    } else {
      view.setUint8(at + 8, 0);
      view.setUint32(at + 16, 1, true);
      view.setBigUint64(at + 24, s.clock, true);
      view.setUint16(at + 40, s.absolute ? 1 : 0, true);
    }
  });
  return bytes;
}

describe("a guest settling down to wait (poll_oneoff)", () => {
  it("is a sleep of at least the idle wait, or an absolute deadline", () => {
    expect(pollWaits(subscriptions({ clock: IDLE_WAIT_NS }))).toBe(true);
    expect(pollWaits(subscriptions({ clock: 3_600_000_000_000n }))).toBe(true);
    expect(pollWaits(subscriptions({ clock: 1n, absolute: true }))).toBe(true);
  });

  it("is not a short sleep, nor a poll for readiness with a short timeout", () => {
    expect(pollWaits(subscriptions({ clock: IDLE_WAIT_NS - 1n }))).toBe(false);
    expect(pollWaits(subscriptions({ clock: 0n }))).toBe(false);
    expect(pollWaits(subscriptions({ fd: 0 }, { clock: 1_000_000n }))).toBe(false);
  });

  it("is a wait on fds with no clock, which lasts until one is ready", () => {
    expect(pollWaits(subscriptions({ fd: 0 }))).toBe(true);
    expect(pollWaits(subscriptions({ fd: 0 }, { clock: 5_000_000_000n }))).toBe(true);
  });

  it("is nothing when the array is empty or outside the guest's memory", () => {
    expect(pollWaits(new Uint8Array(0))).toBe(false);
    expect(pollWaits(undefined)).toBe(false);
  });
});
