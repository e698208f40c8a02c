import { setV8Flags } from "../../sea/v8-flags.ts";
import type { RunContext } from "../engine.ts";
import { hardenPreview1, type Preview1Imports } from "./harden.ts";

export interface Preview1Options {
  args: string[];
  env: Record<string, string>;
  /** Guest directory name → host directory; the container gets exactly { "/": "/" }. */
  preopens: Record<string, string>;
  stdin: number;
  stdout: number;
  stderr: number;
  /** Call this export instead of `_start` (`module.wasm#function`). */
  exportName?: string;
  /** Called when the guest first settles down to wait (see RunContext.onWait). */
  onWait?: () => void;
}

/**
 * Runs a WASI preview1 core module on node:wasi (uvwasi) through the hardening layer and returns
 * its exit status (proc_exit's code, or 0). A trap is thrown as a WebAssembly.RuntimeError.
 */
export async function runPreview1Module(
  module: WebAssembly.Module | Uint8Array<ArrayBuffer>,
  opts: Preview1Options,
): Promise<number> {
  // Loaded here, not imported: node:wasi warns on load, and a shim's `start` must print only the address.
  const { WASI } = process.getBuiltinModule("node:wasi");
  const wasi = new WASI({ version: "preview1", returnOnExit: true, ...opts });
  const base = wasi.getImportObject() as { wasi_snapshot_preview1: Preview1Imports };
  const layer = hardenPreview1(
    base.wasi_snapshot_preview1,
    opts.preopens,
    [opts.stdin, opts.stdout, opts.stderr],
    opts.onWait,
  );
  const compiled = module instanceof WebAssembly.Module ? module : await compileValidated(module);
  const instance = await WebAssembly.instantiate(compiled, { wasi_snapshot_preview1: layer.imports });
  layer.attach(instance);
  return wasi.start(opts.exportName ? chosenExport(instance, opts.exportName) : instance);
}

/**
 * Compiles a module Create has validated (this runs inside the container, after Create) with V8's
 * lazy validation: V8 still validates every function, as it first compiles it, rather than all
 * of them before the guest may start (a 31 MB module, yosys: 23 ms instead of 79). The flag is
 * set here, once the runner has loaded what it needs, and stays set: V8 checks a function that
 * fails its validation against the flag as it is at that call, and with the flag unset it aborts
 * the process (a module swapped after Create would end the runner with SIGTRAP rather than a
 * CompileError). Any V8 flag changed at run time costs the code cache of the Node modules loaded
 * afterwards, so not before: wasmer's SDK, loaded later, started hello.wasm some 30 ms later.
 */
async function compileValidated(module: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  setV8Flags("--wasm-lazy-validation");
  return WebAssembly.compile(module);
}

/**
 * node:wasi's start() runs `_start` and turns proc_exit into the returned status; hand it the
 * chosen export in `_start`'s place (after a reactor's `_initialize`, which start() would refuse).
 */
function chosenExport(instance: WebAssembly.Instance, name: string): WebAssembly.Instance {
  const { memory, _initialize: init } = instance.exports;
  const fn = instance.exports[name];
  if (typeof fn !== "function") throw new Error(`the module has no function export ${name}`);
  const _start = () => {
    if (typeof init === "function") init();
    fn();
  };
  return { exports: { memory, _start } } as unknown as WebAssembly.Instance;
}

/** The runner's guest: the container's root is the guest's `/`, and nothing else is preopened. */
export function runPreview1(ctx: RunContext): Promise<number> {
  return runPreview1Module(ctx.module, {
    args: ctx.args,
    env: ctx.env,
    preopens: { "/": "/" },
    stdin: ctx.stdin,
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    ...(ctx.exportName ? { exportName: ctx.exportName } : {}),
    ...(ctx.onWait ? { onWait: ctx.onWait } : {}),
  });
}
