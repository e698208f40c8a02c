import { criIsolation, engineIsolation } from "@wasm-shims/test-lab";
import { commandAdapter } from "./components.ts";
import { testCache } from "./test-cache.ts";

// The snoop and the other tenant run as components (the preview1 module wrapped with the adapter),
// so each has a transpile-cache entry of its own, handed to its runner; a core module would run
// on node:wasi and touch no cache. Each suite's private cache holds both entries: the snoop must
// find neither, its own included.
async function component(module: Uint8Array): Promise<Uint8Array> {
  const { componentNew } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  return componentNew(module, [["wasi_snapshot_preview1", await commandAdapter()]]);
}
const ctrCache = testCache();
const criCache = testCache();
engineIsolation({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: ctrCache }, privateDirs: [ctrCache], component });
criIsolation({ engine: "jco", env: { WASM_SHIM_JCO_CACHE: criCache }, privateDirs: [criCache], component });
