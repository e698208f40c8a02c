import { PREVIEW1_IMPORTS, runPreview1, type Engine } from "@wasm-shims/shim-core";

/**
 * Node's built-in WASI preview1 (node:wasi, uvwasi): host fds and directories directly, nothing
 * copied, with shim-core's preview1 layer fixing where uvwasi departs from the spec.
 */
export const nodeEngine: Engine = {
  name: "node",
  version: `node:wasi preview1 (Node ${process.version})`,
  imports: PREVIEW1_IMPORTS,
  // Core modules run on runPreview1, which calls a chosen export (`module.wasm#function`).
  callsExports: true,
  run: runPreview1,
};
