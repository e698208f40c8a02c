// Run by engine.test.ts in a process of its own: runs the module named by argv[2] once through the
// engine and reports what the SDK's start-up cost this process beside the guest's own output.
import { readFileSync } from "node:fs";
import { nodeWorkerStats } from "../node_modules/@wasmer/sdk/dist/node-worker-adapter.js";
import { wasmerEngine } from "../src/engine.ts";

const path = process.argv[2]!;
const code = await wasmerEngine.run({
  path,
  module: new Uint8Array(readFileSync(path)),
  args: [path],
  env: {},
  cwd: "/",
  stdin: 0,
  stdout: 1,
  stderr: 2,
  data: {},
  files: {},
});
// Node's list of the built-ins this thread has loaded (not in its types).
const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
const undici = loaded.some((m) => m.includes("undici"));
process.stderr.write(`${JSON.stringify({ code, undici, workers: nodeWorkerStats().workersCreated })}\n`);
process.exit(0);
