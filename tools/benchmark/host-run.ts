// One module run on the host by node:wasi, outside any container: `host-run.ts MODULE [ARGS...]`.
// Compiled as the node shim's runner compiles it (lazy validation, set by the caller's flag).
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [path, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [path!, ...args], returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(path!));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
process.exitCode = wasi.start(instance);
