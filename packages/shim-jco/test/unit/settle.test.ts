import { IDLE_WAIT_NS } from "@wasm-shims/shim-core";
import { describe, expect, it } from "vitest";
import { settleOnLongWaits } from "../../src/run.ts";

describe("a component settling down to wait", () => {
  const clock = () => {
    const subscribed: bigint[] = [];
    const now = () => 1_000_000_000n;
    return {
      subscribed,
      now,
      imports: {
        "wasi:clocks/monotonic-clock@0.2.3": {
          now,
          resolution: () => 1n,
          subscribeDuration: (ns: bigint) => subscribed.push(ns),
          subscribeInstant: (at: bigint) => subscribed.push(at),
        },
        "wasi:cli/stdout@0.2.3": { getStdout: () => 1 },
      } as Record<string, unknown>,
    };
  };
  type Clock = { now(): bigint; subscribeDuration(ns: bigint): unknown; subscribeInstant(at: bigint): unknown };

  it("tells the runner when it subscribes to a long wait, and still subscribes", () => {
    const c = clock();
    let waits = 0;
    settleOnLongWaits(c.imports, () => waits++);
    const wrapped = c.imports["wasi:clocks/monotonic-clock@0.2.3"] as Clock;
    wrapped.subscribeDuration(IDLE_WAIT_NS - 1n);
    wrapped.subscribeInstant(c.now() + 1_000n);
    expect(waits).toBe(0);
    wrapped.subscribeDuration(IDLE_WAIT_NS);
    wrapped.subscribeInstant(c.now() + 5n * IDLE_WAIT_NS);
    expect(waits).toBe(2);
    expect(c.subscribed).toEqual([IDLE_WAIT_NS - 1n, c.now() + 1_000n, IDLE_WAIT_NS, c.now() + 5n * IDLE_WAIT_NS]);
  });

  it("keeps the clock's other functions, which jco may lower directly, and every other import", () => {
    const c = clock();
    const before = c.imports["wasi:clocks/monotonic-clock@0.2.3"] as Clock;
    const stdout = c.imports["wasi:cli/stdout@0.2.3"];
    settleOnLongWaits(c.imports, () => {});
    expect((c.imports["wasi:clocks/monotonic-clock@0.2.3"] as Clock).now).toBe(before.now);
    expect(c.imports["wasi:cli/stdout@0.2.3"]).toBe(stdout);
  });
});
