import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineConformance } from "@wasm-shims/shim-core/testing";

// A preview1 proc_exit(N) reaches WASI 0.2 through the adapter as exit(err): status 1 for any N ≠ 0.
// A private transpile cache keeps test runs out of the node's real one.
engineConformance({ engine: "jco", exitStatus: (n) => (n === 0 ? 0 : 1), env: { WASM_SHIM_JCO_CACHE: mkdtempSync(join(tmpdir(), "jco-cache-")) } });
