import { engineConformance } from "@wasm-shims/test-lab";
import { testCache } from "./test-cache.ts";

// A private transpile cache keeps test runs out of the node's real one.
engineConformance({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: testCache() } });
