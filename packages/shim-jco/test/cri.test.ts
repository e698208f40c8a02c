import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { criConformance } from "@wasm-shims/test-lab";

// A private transpile cache keeps test runs out of the node's real one.
criConformance({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: mkdtempSync(join(tmpdir(), "jco-cache-")) } });
