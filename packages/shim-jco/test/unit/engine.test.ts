import { engineSuite } from "@wasm-shims/shim-core/testing";
import { jcoEngine } from "../../src/engine.ts";

// Core modules; components (transpile, cache, wasi:http) have their own end-to-end files beside.
engineSuite(jcoEngine);
