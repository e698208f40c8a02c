import { join } from "node:path";
import { compileCheck, isComponent, PREVIEW1_IMPORTS, runPreview1, type Engine } from "@wasm-shims/shim-core";
import { cacheRoot, ensureTranspiled, readTranspiled } from "./cache.ts";
import { packTranspiled, unpackTranspiled } from "./precompiled.ts";
import { runCommand } from "./run.ts";
import { ENTRY_MODULE } from "./transpile.ts";
import { transpileInChild } from "./transpile-child.ts";
import { ENGINE_VERSION } from "./version.ts";

/**
 * WASI 0.2 components through jco: transpiled to JS + core wasm on the host at Create, cached by
 * module digest and engine version, and run in the container against
 * @bytecodealliance/preview2-shim: a wasi:cli/run export as a command, a
 * wasi:http/incoming-handler export as an HTTP server. WASI preview1 core modules run as on the
 * node engine, on node:wasi with shim-core's preview1 layer: no transpile, no cache.
 */
export const jcoEngine: Engine = {
  name: "jco",
  version: `${ENGINE_VERSION}; core modules: node:wasi preview1 (Node ${process.version})`,
  // Checked for core modules only; jco-transpile checks a component's imports at prepare.
  imports: PREVIEW1_IMPORTS,
  // Core modules run on runPreview1, which calls a chosen export (`module.wasm#function`).
  callsExports: true,
  // The transpile output depends on jco-transpile and preview2-shim, both in ENGINE_VERSION.
  precompileKey: ENGINE_VERSION,
  async validate(module, path) {
    // V8 cannot compile a component; jco-transpile validates it at prepare, with its own message.
    if (!isComponent(module)) await compileCheck(module, path);
  },
  async prepare(ctx) {
    // A core module needs no transpile and gets nothing of the cache: a component exec'd into its
    // container later is prepared on its own and handed its own entry.
    if (!isComponent(ctx.module)) return {};
    const root = cacheRoot();
    const { key, manifest } = await ensureTranspiled(
      root,
      ctx.module,
      ctx.path,
      ctx.digest,
      ctx.log,
      ctx.precompiled && unpackTranspiled(ctx.precompiled),
      transpileInChild,
    );
    const has = (iface: string) => manifest.exports.some((name) => name.startsWith(`${iface}@`));
    const kind = has("wasi:cli/run") ? "command" : has("wasi:http/incoming-handler") ? "http" : undefined;
    if (!kind) {
      throw new Error(
        `${ctx.path} exports neither wasi:cli/run nor wasi:http/incoming-handler (exports: ${manifest.exports.join(", ") || "none"})`,
      );
    }
    // Only this entry's files go to the container, as read-only fds (nothing of the cache is mounted).
    const files = Object.fromEntries(Object.keys(manifest.files).map((name) => [name, join(root, key, name)]));
    // The transpile output is what a Wasm layer's next container can take from containerd's content store.
    const compiled = ctx.wantsCompiled ? packTranspiled(await readTranspiled(join(root, key), manifest)) : undefined;
    return { files, data: { kind }, ...(compiled ? { compiled } : {}) };
  },
  async run(ctx) {
    if (!isComponent(ctx.module)) return runPreview1(ctx);
    if (!ctx.files[ENTRY_MODULE]) throw new Error("jco: no transpiled component for this module (prepare did not run)");
    // Loaded only for a server: it brings preview2-shim's HTTP side and the server threads.
    if (ctx.data.kind === "http") return (await import("./http.ts")).serveHttp(ctx);
    return runCommand(ctx);
  },
};
