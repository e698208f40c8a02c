import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { corpusConformance } from "@wasm-shims/test-lab";

// A private transpile cache keeps test runs out of the node's real one.
corpusConformance({
  engine: "jco",
  components: true,
  env: { WASM_SHIM_JCO_CACHE: mkdtempSync(join(tmpdir(), "jco-cache-")) },
});
