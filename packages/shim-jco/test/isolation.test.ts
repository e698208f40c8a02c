import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { criIsolation, engineIsolation } from "@wasm-shims/shim-core/testing";

// Each suite's private transpile cache holds both tenants' entries: the snoop must find neither.
const cache = () => mkdtempSync(join(tmpdir(), "jco-cache-"));
const ctrCache = cache();
const criCache = cache();
engineIsolation({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: ctrCache }, privateDirs: [ctrCache] });
criIsolation({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: criCache }, privateDirs: [criCache] });
