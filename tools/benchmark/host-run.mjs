// One module run on the host by node:wasi, outside any container: `host-run.mjs MODULE [ARGS...]`.
// Compiled as the node shim's runner compiles it (lazy validation, set by the caller's flag). Plain
// JavaScript: stripping TypeScript's types would add some 45 ms to every run here.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [path, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [path, ...args], returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(path));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
