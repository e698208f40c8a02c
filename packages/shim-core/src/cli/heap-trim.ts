import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { native } from "../sea/native.ts";

/** How often the daemon looks at its heap, and by how much it must have grown to be collected. */
export const TRIM_EVERY_MS = 30_000;
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

/** V8's full collection, reached without starting Node with --expose-gc (unavailable to a single executable's daemon). */
export function fullCollection(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the daemon's trim: checked every `everyMs` on an unref'd timer. */
export function trimHeapWhenGrown(everyMs = TRIM_EVERY_MS): NodeJS.Timeout {
  // Reached at the first collection, not at start: it makes a V8 context, and every container's
  // daemon start would pay for it.
  let gc: (() => void) | undefined;
  const trim = new HeapTrim({
    used: () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    },
    collect: () => {
      gc ??= fullCollection();
      gc?.();
      native().mallocTrim();
    },
  });
  const timer = setInterval(() => trim.check(), everyMs);
  timer.unref();
  return timer;
}
