// Run by swapped-module.test.ts in a process of its own: a V8 that aborts takes only this one.
import { runPreview1Module } from "../../src/wasm/preview1/run.ts";
import { commandWithStart, INVALID_BODY } from "./start-module.ts";

// A WASI command whose `_start` does not validate: one swapped after Create.
try {
  const opts = { args: ["x"], env: {}, preopens: {}, stdin: 0, stdout: 1, stderr: 2 };
  console.log(`exited ${await runPreview1Module(commandWithStart(INVALID_BODY), opts)}`);
} catch (err) {
  console.log(`${(err as Error).constructor.name}: ${(err as Error).message}`);
}
