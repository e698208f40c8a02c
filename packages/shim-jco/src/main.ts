import { runShim } from "@wasm-shims/shim-core";
import { jcoEngine } from "./engine.ts";

runShim(jcoEngine);
