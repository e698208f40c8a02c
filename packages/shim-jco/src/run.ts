import { IDLE_WAIT_NS, type RunContext } from "@wasm-shims/shim-core";
import { fdOutputStream } from "./stdio.ts";
import { ENTRY_MODULE } from "./transpile.ts";

/** wasi:cli/exit, thrown through the guest's frames so the runner gets the code, not process.exit(). */
class GuestExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

export type Instance = Record<string, Record<string, (...args: never[]) => unknown> | undefined>;
type CoreModule = WebAssembly.Module | Promise<WebAssembly.Module>;
type Instantiate = (
  getCoreModule: (name: string) => CoreModule,
  imports: Record<string, unknown>,
  instantiateCore?: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
) => Promise<Instance> | Instance;

/**
 * The transpiled component's `instantiate`, from the files the shim sent (they are nowhere in the
 * container's file system). jco's instantiation output is one ES module that imports nothing and
 * exports `instantiate` (and an empty `_util`); the runner runs the guest on its main thread, an
 * executable's main script, where import() cannot load a module (not even a data: URL). So the
 * module is evaluated as a strict function body instead: its two export statements become plain
 * declarations, and `import.meta` (only read when no getCoreModule is given, which never happens
 * here) becomes an object of its own. Anything else module-only in it is refused by the parser.
 * It is named GLUE_URL, so that stack traces and profiles tell its frames from the shim's own.
 */
export async function loadComponent(files: RunContext["files"]): Promise<Instantiate> {
  const source = files[ENTRY_MODULE];
  if (!source) throw new Error(`jco: ${ENTRY_MODULE} is missing from the transpiled component`);
  return moduleFunction(Buffer.from(source).toString("utf8"));
}

/** The URL stack traces and CPU profiles give the transpiled component's JavaScript. */
export const GLUE_URL = `jco-glue:///${ENTRY_MODULE}`;

export function moduleFunction(source: string): Instantiate {
  const body = source
    .replace(/^export function instantiate\(/m, "function instantiate(")
    .replace(/^export const _util\b/m, "const _util")
    .replaceAll("import.meta", "__moduleMeta");
  if (!/^function instantiate\(/m.test(body) || /^\s*(export|import)[\s{*]/m.test(body)) {
    throw new Error(
      `jco: ${ENTRY_MODULE} is not the instantiation module this shim knows (an export other than instantiate, or an import)`,
    );
  }
  return new Function(
    `"use strict";\nconst __moduleMeta = { url: "file:///${ENTRY_MODULE}" };\n${body}\nreturn instantiate;\n//# sourceURL=${GLUE_URL}`,
  )() as Instantiate;
}

/** A core module of the transpiled component, by file name. */
export function coreModule(files: RunContext["files"], name: string): Promise<WebAssembly.Module> {
  const bytes = files[name];
  if (!bytes) return Promise.reject(new Error(`jco: core module ${name} is missing from the transpiled component`));
  return WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
}

/** The export named `iface` at any version, e.g. "wasi:cli/run" → the "wasi:cli/run@0.2.12" instance. */
export function exported(instance: Instance, iface: string): Record<string, (...args: never[]) => unknown> | undefined {
  return Object.entries(instance).find(([name]) => name.startsWith(`${iface}@`) || name === iface)?.[1];
}

/** preview2-shim's WASI 0.2, confined to the container, with stdio on the container's fds. */
export async function guestImports(
  ctx: Pick<RunContext, "args" | "env" | "stdout" | "stderr">,
): Promise<Record<string, unknown>> {
  const { WASIShim } = await import("@bytecodealliance/preview2-shim/instantiation");
  const { cli, io } = await import("@bytecodealliance/preview2-shim");
  // The guest sees the container's root as `/`, and nothing of the host's (0.26.1 preopens nothing by default).
  // Exactly "/": a "." preopen would take over absolute paths too. The cwd reaches a component
  // through wasi:cli/environment's initial-cwd, which preview2-shim takes from process.cwd().
  const preopens: Record<string, string> = { "/": "/" };
  const imports = new WASIShim({ sandbox: { args: ctx.args, env: ctx.env, preopens } }).getImportObject() as Record<
    string,
    unknown
  >;
  const stdout = fdOutputStream(io.streams, ctx.stdout, cli.stdout.getStdout());
  const stderr = fdOutputStream(io.streams, ctx.stderr, cli.stderr.getStderr());
  imports["wasi:cli/stdout"] = { getStdout: () => stdout };
  imports["wasi:cli/stderr"] = { getStderr: () => stderr };
  imports["wasi:cli/exit"] = {
    exit: (status: { tag: "ok" | "err" }) => {
      throw new GuestExit(status.tag === "err" ? 1 : 0);
    },
    exitWithCode: (code: number) => {
      throw new GuestExit(code);
    },
  };
  return imports;
}

type MonotonicClock = { now(): bigint; subscribeDuration(ns: bigint): unknown; subscribeInstant(at: bigint): unknown };

/**
 * A command's sleep blocks the runner's thread (preview2-shim waits on its I/O worker), so the
 * runner's own timer never fires: a subscription to a long enough wait is the guest settling down
 * (RunContext.onWait). The clock's other functions stay as they are (jco lowers them directly).
 */
export function settleOnLongWaits(imports: Record<string, unknown>, onWait: () => void): void {
  for (const [name, value] of Object.entries(imports)) {
    if (!name.startsWith("wasi:clocks/monotonic-clock")) continue;
    const clock = value as MonotonicClock;
    const waiting = (ns: bigint) => {
      if (ns >= IDLE_WAIT_NS) onWait();
    };
    imports[name] = {
      ...clock,
      subscribeDuration: (ns: bigint) => {
        waiting(BigInt(ns));
        return clock.subscribeDuration(ns);
      },
      subscribeInstant: (at: bigint) => {
        waiting(BigInt(at) - clock.now());
        return clock.subscribeInstant(at);
      },
    };
  }
}

/** Runs the transpiled wasi:cli command in `ctx.files` to its exit code. */
export async function runCommand(ctx: RunContext): Promise<number> {
  const instantiate = await loadComponent(ctx.files);
  const imports = await guestImports(ctx);
  if (ctx.onWait) settleOnLongWaits(imports, ctx.onWait);
  const instance = await instantiate((name) => coreModule(ctx.files, name), imports);
  const run = exported(instance, "wasi:cli/run")?.run;
  if (!run) throw new Error(`${ctx.path} does not export wasi:cli/run`);
  try {
    run();
    return 0;
  } catch (err) {
    if (err instanceof GuestExit) return err.code;
    // run returning result::err is thrown as its (empty) payload, like exit(err).
    if (!(err instanceof Error)) return 1;
    throw err;
  }
}
