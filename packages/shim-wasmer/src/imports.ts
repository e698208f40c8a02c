import { moduleImports } from "@wasm-shims/shim-core";

/**
 * The module names a WebAssembly module imports from, read from its import section without
 * compiling it (a large program would take long to compile twice). Throws on a malformed module.
 */
export function importModules(bytes: Uint8Array): Set<string> {
  return new Set(moduleImports(bytes).map((i) => i.module));
}
