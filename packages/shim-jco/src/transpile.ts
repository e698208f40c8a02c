import { isHttpHandler } from "./http/exports.ts";

/** The transpiled component's ES module; `.mjs` so that require() loads it as ESM wherever it lies. */
export const ENTRY_MODULE = "component.mjs";

export interface Transpiled {
  files: Record<string, Uint8Array>;
  /** The component's exports, e.g. "wasi:cli/run@0.2.12". */
  exports: string[];
  /** The process that transpiled it, when not this one (transpile-child.ts). */
  pid?: number;
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
    const http = isHttpHandler(component)
      ? {
          ...HTTP_HANDLER_OPTIONS,
          asyncImports: [...HTTP_HANDLER_OPTIONS.asyncImports],
          asyncExports: [...HTTP_HANDLER_OPTIONS.asyncExports],
        }
      : {};
    const out = await transpileBytes(component, {
      name: "component",
      instantiation: "async",
      emitTypescriptDeclarations: false,
      ...http,
    });
    const files: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(out.files)) files[name === "component.js" ? ENTRY_MODULE : name] = bytes;
    return { files, exports: out.exports.map(([name]) => name) };
  } catch (err) {
    throw new Error(`${path} cannot be transpiled by jco: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A wasi:http handler is served many requests at once on one thread, so its transpile uses JSPI:
 * `handle` returns a promise, and the WASI calls that wait (poll, block, blocking stream calls)
 * suspend the guest instead of blocking the thread (src/http/pollable.ts).
 */
const HTTP_HANDLER_OPTIONS = {
  asyncMode: "jspi",
  asyncImports: [
    "wasi:io/poll#poll",
    "wasi:io/poll#[method]pollable.block",
    "wasi:io/streams#[method]input-stream.blocking-read",
    "wasi:io/streams#[method]input-stream.blocking-skip",
    "wasi:io/streams#[method]output-stream.blocking-flush",
    "wasi:io/streams#[method]output-stream.blocking-write-and-flush",
    "wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush",
    "wasi:io/streams#[method]output-stream.blocking-splice",
  ],
  asyncExports: ["wasi:http/incoming-handler#handle"],
} as const;
