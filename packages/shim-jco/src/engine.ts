import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { compileCheck, isComponent, PREVIEW1_IMPORTS, RUNNER_DIR, runPreview1, type Engine } from "@wasm-shims/shim-core";
import { cacheRoot, ensureTranspiled } from "./cache.ts";
import { serveHttp } from "./http.ts";
import { runCommand } from "./run.ts";
import { ENGINE_VERSION } from "./version.ts";

/** Where the whole transpile cache appears inside every jco container (read-only). */
export const CACHE_MOUNT = `${RUNNER_DIR}/jco-cache`;

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
  async validate(module, path) {
    // V8 cannot compile a component; jco-transpile validates it at prepare, with its own message.
    if (!isComponent(module)) await compileCheck(module, path);
  },
  async prepare(ctx) {
    const root = cacheRoot();
    // A core module needs no transpile, but its container gets the cache too: a component exec'd
    // into it later finds its entry there (an exec cannot add mounts).
    if (!isComponent(ctx.module)) {
      await mkdir(root, { recursive: true, mode: 0o755 });
      return { mounts: [{ source: root, destination: CACHE_MOUNT }] };
    }
    const { key, manifest } = await ensureTranspiled(root, ctx.module, ctx.path, ctx.digest, ctx.log);
    const has = (iface: string) => manifest.exports.some((name) => name.startsWith(`${iface}@`));
    const kind = has("wasi:cli/run") ? "command" : has("wasi:http/incoming-handler") ? "http" : undefined;
    if (!kind) {
      throw new Error(`${ctx.path} exports neither wasi:cli/run nor wasi:http/incoming-handler (exports: ${manifest.exports.join(", ") || "none"})`);
    }
    return { mounts: [{ source: root, destination: CACHE_MOUNT }], data: { dir: join(CACHE_MOUNT, key), kind } };
  },
  async run(ctx) {
    if (!isComponent(ctx.module)) return runPreview1(ctx);
    const dir = ctx.data.dir;
    if (!dir) throw new Error("jco: no transpiled component for this module (prepare did not run)");
    return ctx.data.kind === "http" ? serveHttp(ctx, dir) : runCommand(ctx, dir);
  },
};
