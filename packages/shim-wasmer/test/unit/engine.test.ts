import { engineSuite } from "@wasm-shims/shim-core/testing";
import { wasmerEngine } from "../../src/engine.ts";

// What only wasmer has (WASIX, the SDK's worker and pipes) is in test/engine.test.ts.
engineSuite(wasmerEngine);
