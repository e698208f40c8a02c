import { runShim } from "@wasm-shims/shim-core";
import { nodeEngine } from "./engine.ts";

runShim(nodeEngine);
