// Run by swapped-module.test.ts in a process of its own: a V8 that aborts takes only this one.
import { runPreview1Module } from "../../src/wasm/preview1/run.ts";

/** A WASI command whose `_start` does not validate (`i32.add` on an empty stack): one swapped after Create. */
const invalidStart = new Uint8Array([
  ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
  ...[1, 4, 1, 0x60, 0, 0],
  ...[3, 2, 1, 0],
  ...[5, 3, 1, 0, 1],
  ...[7, 19, 2, 6, ..."_start"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c)),
  ...[0, 0, 6, ..."memory"].map((c) => (typeof c === "string" ? c.charCodeAt(0) : c)),
  ...[2, 0],
  ...[10, 6, 1, 4, 0, 0x6a, 0x1a, 0x0b],
]);

try {
  const code = await runPreview1Module(invalidStart, {
    args: ["x"],
    env: {},
    preopens: {},
    stdin: 0,
    stdout: 1,
    stderr: 2,
  });
  console.log(`exited ${code}`);
} catch (err) {
  console.log(`${(err as Error).constructor.name}: ${(err as Error).message}`);
}
