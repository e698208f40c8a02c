/** The transpiled component's ES module; `.mjs` so that require() loads it as ESM wherever it lies. */
export const ENTRY_MODULE = "component.mjs";

export interface Transpiled {
  files: Record<string, Uint8Array>;
  /** The component's exports, e.g. "wasi:cli/run@0.2.12". */
  exports: string[];
}

/**
 * A component as JS plus core wasm files. `instantiation: "async"` makes the output import
 * nothing: the WASI imports and the core modules are handed to its `instantiate`, so it runs
 * from any directory.
 */
export async function transpileModule(component: Uint8Array, path: string): Promise<Transpiled> {
  // Loaded on first use: jco-transpile compiles ~6 MB of wasm when it loads.
  const { transpileBytes } = await import("@bytecodealliance/jco-transpile");
  try {
    const out = await transpileBytes(component, { name: "component", instantiation: "async", emitTypescriptDeclarations: false });
    const files: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(out.files)) files[name === "component.js" ? ENTRY_MODULE : name] = bytes;
    return { files, exports: out.exports.map(([name]) => name) };
  } catch (err) {
    throw new Error(`${path} cannot be transpiled by jco: ${err instanceof Error ? err.message : String(err)}`);
  }
}
