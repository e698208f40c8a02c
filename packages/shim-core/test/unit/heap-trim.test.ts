import { getHeapSpaceStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { HeapTrim } from "../../src/cli/heap-trim.ts";
import { fullCollection } from "../../src/sea/compact-heap.ts";

describe("the daemon's heap trim", () => {
  it("collects only once the heap has grown by the threshold since the last full collection", () => {
    let used = 10_000;
    let collections = 0;
    const trim = new HeapTrim({
      used: () => used,
      collect: () => {
        collections++;
        used -= 600;
      },
      growthBytes: 1000,
    });
    used += 999;
    expect(trim.check()).toBe(false);
    used += 1;
    expect(trim.check()).toBe(true);
    expect(collections).toBe(1);
    // The new baseline is what the collection left (10,400), not the start.
    used += 999;
    expect(trim.check()).toBe(false);
    used += 1;
    expect(trim.check()).toBe(true);
    // An idle heap never grows, so nothing is collected.
    for (let i = 0; i < 5; i++) expect(trim.check()).toBe(false);
    expect(collections).toBe(2);
  });

  it("reaches V8's full collection without --expose-gc", () => {
    const gc = fullCollection();
    expect(typeof gc).toBe("function");
    const before = process.memoryUsage().heapUsed;
    let garbage: unknown[] | undefined = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    expect(garbage.length).toBe(100_000);
    expect(process.memoryUsage().heapUsed).toBeGreaterThan(before);
    garbage = undefined;
    gc?.();
    // What the list held is gone at once, not at V8's next scheduled collection.
    expect(process.memoryUsage().heapUsed).toBeLessThan(before + 1024 * 1024);
  });

  it("leaves V8's flags as they were, so that later modules still take their code cache", () => {
    expect(runInNewContext("typeof gc")).toBe("undefined");
    const gc = fullCollection();
    // V8 sets up a new context's globals from the flags: with --expose-gc left on, each has `gc`.
    expect(runInNewContext("typeof gc")).toBe("undefined");
    gc?.();
    expect(typeof gc).toBe("function");
  });

  it("shrinks the young generation that loading grew", () => {
    const young = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
    // Short-lived objects with some survivors, as evaluating a bundle makes: V8 grows new space.
    let keep: unknown[] = [];
    for (let i = 0; i < 300_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 5_000) keep = [];
    }
    const grown = young();
    expect(grown).toBeGreaterThan(2 * 1024 * 1024);
    fullCollection()?.();
    // A plain full collection leaves it as it is; its pages stay resident.
    expect(young()).toBeLessThanOrEqual(grown / 2);
  });
});
