import type { ProvidedImports } from "./imports.ts";

/**
 * The one interface a Wasm engine implements. The shim (containerd plumbing, runc, lifecycle) calls
 * `validate` and `prepare` on the host at Create; the runner calls `load` and `run` inside the
 * container (on its main thread, or in a worker with `guestInWorker`), with the container's root
 * as the guest's `/`.
 */
export interface Engine {
  /** The X of containerd-shim-X-v1 and io.containerd.X.v1. */
  readonly name: string;
  /** The engine and its version, for `-v` and logs. */
  readonly version: string;
  /**
   * What a core module may import, per import module: the function names, or "*" for anything
   * from it. At Create, a core module that imports anything else is refused with an error naming
   * it, instead of failing to link at Start. Unset: no check.
   */
  readonly imports?: ProvidedImports;
  /**
   * Whether `run` calls RunContext.exportName instead of `_start` when an entrypoint names one
   * (`module.wasm#function`). Without it such an entrypoint is refused at Create.
   */
  readonly callsExports?: boolean;
  /**
   * Identifies the compiler behind `Prepared.compiled` (e.g. a transpiler's version): a compiled
   * form made under another key is never handed back as `PrepareContext.precompiled`.
   */
  readonly precompileKey?: string;
  /**
   * Run the guest in a worker thread of the runner instead of its main thread: costs a second
   * isolate and a second evaluation of the bundle, for an engine whose `run` needs what an
   * executable's main script lacks (import() of its generated code).
   */
  readonly guestInWorker?: boolean;
  /** Rejects, with a message a user can act on, a module this engine cannot run. Runs on the host at Create. */
  validate?(module: Uint8Array<ArrayBuffer>, path: string): Promise<void>;
  /**
   * Host-side work at Create, after validation (e.g. transpiling into a cache), and for each Wasm
   * command exec'd into a running container. The files it names are handed, read-only, to that
   * one runner process (never mounted, so a container sees nothing else of a cache: see
   * wasm/runner-files.ts for the read-only view of the directory above theirs) and reach `load`
   * and `run` as `files`; `data` reaches them as it is.
   */
  prepare?(ctx: PrepareContext): Promise<Prepared>;
  /**
   * Inside the container, before the guest may run: load whatever the engine reads from the
   * runner's own files (embedded assets that are not code, such as an engine's .wasm). The runner
   * closes those files after `load` and before `run`, so the guest can never reach them; an asset
   * asked for later is an error. Code assets (workers) work at any time: they come from memory.
   */
  load?(ctx: RunContext): Promise<void>;
  /** Runs the guest to completion and returns its exit code. Traps throw. */
  run(ctx: RunContext): Promise<number>;
}

export interface PrepareContext {
  module: Uint8Array<ArrayBuffer>;
  /** The module's path inside the container. */
  path: string;
  /** sha256 of the module, hex. */
  digest: string;
  /** Lines for the shim's log (containerd's log). */
  log: (msg: string) => void;
  /**
   * For a Wasm layer whose compiled form containerd's content store holds: what this engine's
   * `prepare` returned as `compiled` for this very module and `precompileKey`, checked (sealed
   * by this node's shim): use it instead of compiling.
   */
  precompiled?: Uint8Array;
  /** True when a compiled form returned as `Prepared.compiled` would be kept (a Wasm layer's, with none stored yet). */
  wantsCompiled?: boolean;
}

export interface Prepared {
  /** Files for the runner: the name `run` sees them under -> the file on the host. */
  files?: Record<string, string>;
  data?: Record<string, string>;
  /**
   * The module's compiled form, to keep beside its Wasm layer in containerd's content store and
   * hand back as `precompiled` to the next Create of the image. Only what `prepare` produced.
   */
  compiled?: Uint8Array;
}

export interface RunContext {
  /** The module's path inside the container. */
  path: string;
  /**
   * The module's bytes. Their buffer may hold room after them, which the engine may write:
   * `roomAfter(module)` bytes (runner-boot.ts). A section appended there makes a longer module
   * without a copy.
   */
  module: Uint8Array<ArrayBuffer>;
  /** argv, with argv[0] as the image gives it. */
  args: string[];
  env: Record<string, string>;
  /** The process's working directory inside the container. */
  cwd: string;
  /** Host fds for the guest's stdio (the container's own 0, 1, 2). */
  stdin: number;
  stdout: number;
  stderr: number;
  /** What `prepare` returned as data, or {}. */
  data: Record<string, string>;
  /** The bytes of the files `prepare` named, by name, or {}. */
  files: Record<string, Uint8Array>;
  /** The export to call instead of `_start` (`module.wasm#function`); only for engines with `callsExports`. */
  exportName?: string;
  /** The container's CPU quota (CFS quota / period) in CPUs, when its spec sets one. */
  cpuQuota?: number;
  /**
   * Lets a guest that serves (an HTTP server) stop gracefully: once registered, the runner passes
   * `signal` to `handler` (on the guest's thread) instead of exiting with 128+signal, and `run`'s
   * return value becomes the exit status. SIGKILL still ends everything at once.
   */
  onSignal?(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  /**
   * For an engine to call when the guest settles down to wait (a long sleep, a server waiting for
   * its first request) while it holds the runner's thread: the runner compacts its heap then, off
   * the start-up path. Only the first call does anything; a runner whose event loop is free does
   * it on its own.
   */
  onWait?(): void;
}

/** The default Create-time check: the module must at least compile, and a component is named as such. */
export async function compileCheck(module: Uint8Array<ArrayBuffer>, path: string): Promise<void> {
  // \0asm, version 0x0d, layer 1: V8 would only say it expected version 1.
  if (module.length >= 8 && module[4] === 0x0d && module[6] === 0x01) {
    throw new Error(
      `${path} is a WebAssembly component (WASI 0.2); this engine runs core modules (WASI preview1) only: run components with the jco shim (io.containerd.jco.v1)`,
    );
  }
  try {
    await WebAssembly.compile(module);
  } catch (err) {
    throw new Error(`${path} is not a valid WebAssembly module: ${(err as Error).message}`);
  }
}
