import { runShim } from "@wasm-shims/shim-core";
import { wasmerEngine } from "./engine.ts";

runShim(wasmerEngine);
