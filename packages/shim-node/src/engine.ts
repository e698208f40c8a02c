import type { Engine } from "@wasm-shims/shim-core";

/** Node's built-in WASI preview1 (uvwasi): host fds and directories directly, nothing copied. */
export const nodeEngine: Engine = {
  name: "node",
  version: `node:wasi preview1 (Node ${process.version})`,
  async run(ctx) {
    // Loaded here, not imported: node:wasi warns on load, and `start`'s output must be the address alone.
    const { WASI } = process.getBuiltinModule("node:wasi");
    // The guest sees the container's root as `/` and nothing else: a "." preopen would take over
    // absolute paths too (wasi-libc strips both names to ""). The runner patched the working directory in.
    const preopens: Record<string, string> = { "/": "/" };
    const wasi = new WASI({ version: "preview1", args: ctx.args, env: ctx.env, preopens, stdin: ctx.stdin, stdout: ctx.stdout, stderr: ctx.stderr, returnOnExit: true });
    const module = await WebAssembly.compile(ctx.module);
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    return wasi.start(instance);
  },
};
