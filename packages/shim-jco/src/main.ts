import { isBundleThread, refuseContainerModules, runShim } from "@wasm-shims/shim-core";
import { jcoEngine } from "./engine.ts";
import { runTranspileChild, TRANSPILE_FLAG } from "./transpile-child.ts";

/** Must match SERVER_WORKER_KEY in http/thread.ts, which is loaded only in such a thread. */
const HTTP_SERVER_WORKER = "wasmShimHttpServer";

/** Whether this thread is one of the HTTP server's extra event loops (started from this same bundle). */
function isHttpServerThread(): boolean {
  if (!isBundleThread()) return false;
  // Only threads load node:worker_threads here: every other boot is spared it.
  const { workerData } = process.getBuiltinModule("node:worker_threads");
  return Boolean((workerData as Record<string, unknown> | null)?.[HTTP_SERVER_WORKER]);
}

if (isHttpServerThread()) {
  // As in the runner's guest thread: this thread loads no module from the container's file system.
  refuseContainerModules();
  import("./http/thread.ts").then(
    (m) => m.runServerWorker(),
    (err: unknown) =>
      setImmediate(() => {
        throw err;
      }),
  );
} else if (process.argv[2] === TRANSPILE_FLAG) {
  // A cache miss's transpile, in a process of its own (transpile-child.ts).
  runTranspileChild();
} else {
  runShim(jcoEngine);
}
