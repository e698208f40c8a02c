import { corpusConformance } from "@wasm-shims/test-lab";
import { testCache } from "./test-cache.ts";

// A private transpile cache keeps test runs out of the node's real one.
corpusConformance({
  engine: "jco",
  components: true,
  env: { WASM_SHIM_JCO_CACHE: testCache() },
});
