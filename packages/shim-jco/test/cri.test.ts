import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { criConformance } from "@wasm-shims/shim-core/testing";

// As in conformance.test.ts: a preview1 proc_exit(N ≠ 0) reaches WASI 0.2 as exit(err), status 1.
criConformance({ engine: "jco", exitStatus: (n) => (n === 0 ? 0 : 1), env: { WASM_SHIM_JCO_CACHE: mkdtempSync(join(tmpdir(), "jco-cache-")) } });
