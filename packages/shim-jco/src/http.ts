import type { RunContext } from "@wasm-shims/shim-core";
import { writeAll } from "./stdio.ts";
import { coreModule, exported, guestImports, loadComponent, type Instance } from "./run.ts";

type HttpServerClass = new (handler: { handle(request: never, responseOut: never): void }) => { listen(port: number, host: string): void };

/** Like `wasmtime serve`: all interfaces unless the container's env says otherwise. */
export const LISTEN_ENV = "WASI_HTTP_LISTEN";
export const DEFAULT_LISTEN = "0.0.0.0:8080";

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new Error(`${LISTEN_ENV}=${value}: expected HOST:PORT or PORT`);
  return { host: m[1] || "0.0.0.0", port };
}

/**
 * Serves a wasi:http/incoming-handler component with preview2-shim's HTTPServer until the
 * container is stopped. Every request gets a fresh instance (as wasmtime serve does): the core
 * modules are compiled once, and instantiating is synchronous, as the server's callback must be.
 */
export async function serveHttp(ctx: RunContext): Promise<number> {
  const { host, port } = parseListen(ctx.env[LISTEN_ENV] ?? DEFAULT_LISTEN);
  const instantiate = await loadComponent(ctx.files);
  const imports = await guestImports(ctx);
  const modules = new Map<string, WebAssembly.Module>();
  for (const name of Object.keys(ctx.files).filter((n) => n.endsWith(".wasm"))) modules.set(name, await coreModule(ctx.files, name));
  const fresh = (): Instance => {
    const instance = instantiate((name) => modules.get(name)!, imports, (m, i) => new WebAssembly.Instance(m, i));
    if (instance instanceof Promise) throw new Error("jco: the component did not instantiate synchronously");
    return instance;
  };
  const handle = exported(fresh(), "wasi:http/incoming-handler")?.handle;
  if (!handle) throw new Error(`${ctx.path} does not export wasi:http/incoming-handler`);
  // The package's typings for "./http" are the browser build's, which has no server.
  const { HTTPServer } = (await import("@bytecodealliance/preview2-shim/http")) as unknown as { HTTPServer: HttpServerClass };
  const server = new HTTPServer({
    handle(request: never, responseOut: never) {
      exported(fresh(), "wasi:http/incoming-handler")!.handle!(request, responseOut);
    },
  });
  server.listen(port, host);
  writeAll(ctx.stderr, new TextEncoder().encode(`serving HTTP on http://${host.includes(":") ? `[${host}]` : host}:${port}/\n`));
  // Runs until the runner's main thread ends the process on a signal.
  return new Promise<number>(() => {});
}
