// Run by engine.test.ts in a process of its own: runs the module named by argv[2] once through the
// engine and reports what the SDK's start-up cost this process beside the guest's own output.
// With `fail-worker`, the SDK's first worker fails as it would if it threw while starting.
import { runGuest } from "@wasm-shims/shim-core/testing";
import { NodeWorkerAdapter, nodeWorkerStats } from "../node_modules/@wasmer/sdk/dist/node-worker-adapter.js";
import { wasmerEngine } from "../src/engine.ts";

const [path, mode] = process.argv.slice(2) as [string, string | undefined];
// Workers the SDK told to start: every worker made should be one of them (none left unused).
const started = new Set<NodeWorkerAdapter>();
const post = NodeWorkerAdapter.prototype.postMessage;
NodeWorkerAdapter.prototype.postMessage = function (this: NodeWorkerAdapter, message: unknown) {
  if ((message as { type?: string } | null)?.type !== "init") return post.call(this, message);
  started.add(this);
  if (mode !== "fail-worker") return post.call(this, message);
  // A message that names a RuntimeError, as a trap does: it is still the SDK's failure.
  this.onerror?.({ message: "RuntimeError: unreachable (simulated)", filename: "", lineno: 0, colno: 0 });
};
// What the runner would do (checks, load, run), stdio on files: the SDK's own start is measured alone.
const outcome = await runGuest(wasmerEngine, { path });
// Node's list of the built-ins this thread has loaded (not in its types).
const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
const undici = loaded.some((m) => m.includes("undici"));
const unused = nodeWorkerStats().workersCreated - started.size;
const result = "error" in outcome ? { error: outcome.error.message } : { code: outcome.code, stdout: outcome.stdout };
process.stderr.write(`${JSON.stringify({ ...result, undici, unused })}\n`);
process.exit(0);
