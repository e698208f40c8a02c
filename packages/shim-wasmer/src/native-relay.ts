import { getSystemErrorName } from "node:util";
import { BroadcastChannel } from "node:worker_threads";
import { CHANNEL } from "./run-config.ts";
import { directUtimensat, type Utimensat } from "./wasi/times.ts";

// The preview1 layer sets file times with utimensat(2), which only shim-core's native helper
// offers. The layer runs in an SDK worker, and the SDK starts its workers after the runner has
// closed its own files (docs/architecture.md), so no SDK worker can load the helper. The engine's
// thread loaded it while it could: the layer asks that thread on the runs channel, and waits for
// the answer in a SharedArrayBuffer (preview1 calls are synchronous; the engine's thread only
// awaits the guest meanwhile, so it is free to answer).

interface Request {
  run: string;
  utimensat: [path: string, atime: bigint, mtime: bigint, nofollow: boolean];
  /** Int32 [done, errno]: the engine sets errno (0 for success), then done to 1. */
  reply: SharedArrayBuffer;
}

const EIO = 5;
/** Only a thread that stopped answering would make the layer wait this long. */
const WAIT_MS = 60_000;

/** On the engine's thread while `run` runs: does what its layer asks. Returns the function that stops it. */
export function serveNative(run: string): () => void {
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (ev) => {
    const req = ev.data as Partial<Request> | undefined;
    if (req?.run !== run || !Array.isArray(req.utimensat) || !(req.reply instanceof SharedArrayBuffer)) return;
    const state = new Int32Array(req.reply);
    let errno = 0;
    try {
      directUtimensat(...req.utimensat);
    } catch (err) {
      // Node's errnos are negative; a helper that cannot load has none.
      const n = (err as NodeJS.ErrnoException).errno;
      errno = typeof n === "number" && n < 0 ? -n : EIO;
    }
    Atomics.store(state, 1, errno);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  };
  return () => channel.close();
}

/** utimensat for a layer in an SDK worker: done by the engine's thread for `run`. */
export function relayedUtimensat(run: string): Utimensat {
  return (path, atime, mtime, nofollow) => {
    const reply = new SharedArrayBuffer(8);
    const state = new Int32Array(reply);
    const channel = new BroadcastChannel(CHANNEL);
    try {
      channel.postMessage({ run, utimensat: [path, atime, mtime, nofollow], reply } satisfies Request);
      if (Atomics.wait(state, 0, 0, WAIT_MS) === "timed-out")
        throw Object.assign(new Error(`utimensat ${path}: the engine did not answer`), { code: "EIO" });
    } finally {
      channel.close();
    }
    const errno = Atomics.load(state, 1);
    if (errno !== 0)
      throw Object.assign(new Error(`utimensat ${path}`), { code: getSystemErrorName(-errno), errno: -errno });
  };
}
