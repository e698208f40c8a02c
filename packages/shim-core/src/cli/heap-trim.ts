import { compactHeap } from "../sea/compact-heap.ts";

/** How often the daemon looks at its heap, and by how much it must have grown to be collected. */
export const TRIM_EVERY_MS = 30_000;
/**
 * The first collection, unconditional: a pod's Create and Start are answered by then, and a node
 * starting many pods at once is past its burst (at 2 s, 30 daemons compacted in the middle of
 * theirs).
 */
export const FIRST_TRIM_MS = 10_000;
export const TRIM_GROWTH_BYTES = 1024 * 1024;

export interface HeapTrimDeps {
  /** Bytes the JS heap and its buffers hold now. */
  used: () => number;
  /** A full, compacting collection. */
  collect: () => void;
  growthBytes?: number;
}

/**
 * A daemon lives as long as its pod and allocates a little all the time (stdin lines, Stats,
 * execs). V8 collects old space only when it reaches a limit, and the pages it gained stay mapped:
 * in a soak the daemon's RSS climbed for the whole hour, and a full collection took 1–7 MB off it
 * (four tries through the inspector). So once the heap has grown by `growthBytes` since the last
 * full collection, it is collected again, and glibc is asked to hand back what malloc kept of the
 * freed memory (1.4 MB of a daemon's 2.5 MB of growth in its first minutes, with gdb). A heap that
 * does not grow costs only the check.
 */
export class HeapTrim {
  readonly #deps: HeapTrimDeps;
  readonly #growth: number;
  #baseline: number;

  constructor(deps: HeapTrimDeps) {
    this.#deps = deps;
    this.#growth = deps.growthBytes ?? TRIM_GROWTH_BYTES;
    this.#baseline = deps.used();
  }

  /** Collects when the heap has grown enough; whether it did. */
  check(): boolean {
    if (this.#deps.used() - this.#baseline < this.#growth) return false;
    this.#deps.collect();
    this.#baseline = this.#deps.used();
    return true;
  }
}

/**
 * Starts the daemon's trim: one collection `firstMs` after it serves (loading and the pod's first
 * requests grew the young generation; no request is expected then), and from then on checked
 * every `everyMs`, on unref'd timers.
 */
export function trimHeapWhenGrown(firstMs = FIRST_TRIM_MS, everyMs = TRIM_EVERY_MS): void {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const first = setTimeout(() => {
    compactHeap();
    const trim = new HeapTrim({ used, collect: compactHeap });
    setInterval(() => trim.check(), everyMs).unref();
  }, firstMs);
  first.unref();
}
