import { setV8Flags } from "./v8-flags.ts";
import { runInNewContext } from "node:vm";
import { native } from "./native.ts";

type GcFunction = (options?: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/**
 * V8's last-resort collection, reached without starting Node with --expose-gc (unavailable to a
 * single executable's daemon). Unlike a plain full collection it also shrinks the young
 * generation, whose pages stay resident once loading has grown it: measured with Node 24, a
 * process that had loaded a module went from 17 to 9 MB private dirty memory, a plain `gc()`
 * left it at 18 (new space 8 MB before and after, 1 MB after this), for about 10 ms of CPU.
 */
export function fullCollection(): (() => void) | undefined {
  try {
    setV8Flags("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    // The function stays; the flag must not. V8 checks its flags' hash before it takes a code
    // cache, and with a flag changed it compiled every Node module loaded afterwards from source
    // (node:http, worker_threads, zlib, readline: 11 ms instead of 4): a spare compacted before
    // its adoption paid that in its pod's first requests.
    setV8Flags("--no-expose-gc");
    if (typeof gc !== "function") return undefined;
    return () => (gc as GcFunction)({ type: "major", execution: "sync", flavor: "last-resort" });
  } catch {
    return undefined;
  }
}

let gc: (() => void) | undefined;

/** A last-resort collection, then glibc hands back what malloc kept of the freed memory. */
export function compactHeap(): void {
  // Reached at the first collection, not at start: it makes a V8 context, and every container's
  // daemon start would pay for it.
  gc ??= fullCollection();
  gc?.();
  try {
    native().mallocTrim();
  } catch {
    // no native helper (or none loaded before the runner closed its file): V8's part is done
  }
}
