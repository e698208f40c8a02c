import { writeSync } from "node:fs";
import { constants } from "node:os";
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { Engine, RunContext } from "./engine.ts";
import { releaseRunnerAssets } from "../sea/assets.ts";
import { compactHeap } from "../sea/compact-heap.ts";
import { native, releaseNativeFile } from "../sea/native.ts";
import { mainSource, THREAD_ARGV } from "../sea/sea.ts";
import { patchCwd } from "./cwd-patch.ts";
import { guestEnvironment, owned, readModule, takeRunnerFiles } from "./runner-boot.ts";
import { EXPORT_DATA_KEY, LAYER_MODULE_FILE } from "./guest-entry.ts";
import { CPU_QUOTA_ENV, refuseContainerModules } from "./runner-layout.ts";

const WORKER_KEY = "wasmShimGuest";
/** Guest → runner: "send me this signal"; runner → guest: "this signal arrived". */
const SIGNAL_KEY = "wasmShimSignal";
/** When a guest that leaves the event loop free has its runner's heap compacted (RunContext.onWait). */
const SETTLE_MS = 10_000;
/** What the runner exits with when the guest traps: 128 + SIGABRT, as wasmtime does. */
export const TRAP_EXIT = 134;

/** Node would print "ExperimentalWarning: WASI …" on the guest's stderr; that stream is the guest's alone. */
function silenceWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", () => {});
}

/**
 * Loads the native helper now, while the runner's asset directory (where it is) is still open:
 * it is closed before the guest runs (docs/architecture.md). A failure is remembered by native().
 */
function preloadNative(): void {
  try {
    native();
  } catch {}
}

/**
 * Ends the container at once with `code`. process.exit() would first stop the guest's worker,
 * which never returns while the guest is blocked in a system call (read(2) on stdin or a FIFO,
 * a sleep in poll_oneoff), and tear down Node: _exit(2) ends the process whatever its threads
 * are doing.
 */
function exitNow(code: number): never {
  try {
    native().exit(code);
  } catch {
    // Without the helper a guest in a system call keeps the container up until SIGKILL.
  }
  process.exit(code);
}

/** Signals that end a guest that has not asked for them (RunContext.onSignal): 128 + the signal. */
const TERMINATING = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

/**
 * The container's process for a Wasm entrypoint (`--run-wasm PATH -- ARGS…`), running inside the
 * container as its PID 1. PID 1 ignores any signal it has no handler for, and a JS handler cannot
 * run while the guest spins or blocks in a synchronous WASI call. So the guest runs on this very
 * thread with native handlers that `_exit(128+signal)` at once (one isolate, the bundle evaluated
 * once); a guest that stops gracefully (onSignal) replaces its signal's handler with a JS one, and
 * only serves while its event loop is free. An engine with `guestInWorker`, or a runner without
 * the native helper, runs the guest in a worker so this thread stays free for JS handlers.
 */
export function runWasm(argv: readonly string[], engine: Engine): void {
  silenceWarnings();
  const [path, data, sep, ...args] = argv;
  if (!path || !data || sep !== "--") {
    writeSync(2, "usage: --run-wasm PATH DATA-JSON -- ARGS...\n");
    process.exit(2);
  }
  // Isolation (docs/architecture.md): the runner's own fds are closed here or, for assets, before the guest runs.
  let files: RunContext["files"];
  try {
    files = takeRunnerFiles();
  } catch (err) {
    writeSync(2, `error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  preloadNative();
  const ctx: Omit<RunContext, "module"> = {
    path,
    args,
    env: guestEnvironment(),
    cwd: process.cwd(),
    stdin: 0,
    stdout: 1,
    stderr: 2,
    data: JSON.parse(data) as Record<string, string>,
    files,
  };
  const quota = Number(process.env[CPU_QUOTA_ENV]);
  if (quota > 0) ctx.cpuQuota = quota;
  if (!engine.guestInWorker && exitOnSignalsNatively()) runHere(engine, ctx);
  else runInWorker(ctx);
}

/** Installs the native handlers; false (and nothing changed) without the helper. */
function exitOnSignalsNatively(): boolean {
  try {
    native().exitOnSignals(TERMINATING.map((name) => constants.signals[name]));
    return true;
  } catch {
    return false;
  }
}

/** Ends the runner as a trap or an error of the guest's ends it. */
function exitWithError(err: unknown): never {
  const e = err instanceof Error ? err : new Error(String(err));
  const trap = e.name === "RuntimeError";
  writeSync(2, trap ? `wasm trap: ${e.message}\n` : `error: ${e.message}\n`);
  process.exit(trap ? TRAP_EXIT : 1);
}

function runHere(engine: Engine, ctx: Omit<RunContext, "module">): void {
  // A guest that stops gracefully serves from the event loop, so a JS handler runs there.
  const onSignal = (signal: "SIGTERM" | "SIGINT", handler: () => void) => void process.on(signal, handler);
  // The guest's output is written (every engine writes stdio synchronously and awaits its copies
  // before `run` returns): nothing of Node's teardown is left for the container's process to wait
  // for, and containerd learns of the exit that much sooner.
  runGuest(engine, ctx, onSignal).then(exitNow, exitWithError);
}

/** The guest, wherever it runs: from its module to its exit code. */
async function runGuest(
  engine: Engine,
  ctx: Omit<RunContext, "module">,
  onSignal: NonNullable<RunContext["onSignal"]>,
): Promise<number> {
  refuseContainerModules();
  // WASI has no working directory: wasi-libc's own is set by rewriting the module (see wasm/cwd-patch.ts).
  const { module } = patchCwd(owned(ctx.files[LAYER_MODULE_FILE] ?? readModule(ctx.path)), ctx.cwd);
  const { [EXPORT_DATA_KEY]: exportName, ...data } = ctx.data;
  let settle: (() => void) | undefined = () => {
    settle = undefined;
    compactHeap();
  };
  const onWait = () => settle?.();
  const run: RunContext = { ...ctx, module, data, onSignal, onWait, ...(exportName ? { exportName } : {}) };
  preloadNative();
  await engine.load?.(run);
  // Nothing of the runner's stays reachable once the guest can run.
  releaseRunnerAssets();
  releaseNativeFile();
  // Loading grew the young generation, whose pages stay resident for the container's life; a
  // guest that waits, or leaves this thread's event loop free, gives the time to shrink it.
  setTimeout(onWait, SETTLE_MS).unref();
  return engine.run(run);
}

function runInWorker(ctx: Omit<RunContext, "module">): void {
  // Signals the guest asked to handle itself (RunContext.onSignal) go to its thread; any other ends it at once.
  const forwarded = new Set<string>();
  let worker: Worker | undefined;
  for (const name of TERMINATING) {
    process.on(name, () =>
      worker && forwarded.has(name)
        ? worker.postMessage({ [SIGNAL_KEY]: name })
        : exitNow(128 + constants.signals[name]),
    );
  }
  const transferList = Object.values(ctx.files).map((f) => f.buffer as ArrayBuffer);
  worker = new Worker(mainSource(), {
    eval: true,
    argv: [THREAD_ARGV],
    workerData: { [WORKER_KEY]: ctx },
    transferList,
    stdout: false,
    stderr: false,
  });
  worker.on("message", (msg: { code: number } | { [SIGNAL_KEY]: string }) => {
    if (SIGNAL_KEY in msg) forwarded.add(msg[SIGNAL_KEY]);
    else process.exit(msg.code);
  });
  worker.on("error", exitWithError);
  worker.on("exit", (code) => process.exit(code));
}

/** True (and the guest is run) when this thread is the runner's guest worker. */
export function runGuestWorker(engine: Engine): boolean {
  const ctx = (workerData as Record<string, Omit<RunContext, "module">> | null)?.[WORKER_KEY];
  if (!ctx || !parentPort) return false;
  silenceWarnings();
  const port = parentPort;
  const handlers = new Map<string, () => void>();
  const onSignal = (signal: "SIGTERM" | "SIGINT", handler: () => void) => {
    if (handlers.size === 0)
      port.on("message", (msg: { [SIGNAL_KEY]?: string }) => msg[SIGNAL_KEY] && handlers.get(msg[SIGNAL_KEY])?.());
    handlers.set(signal, handler);
    port.postMessage({ [SIGNAL_KEY]: signal });
  };
  runGuest(engine, ctx, onSignal).then(
    (code) => port.postMessage({ code }),
    (err: unknown) =>
      // Rethrown outside the promise so the main thread receives it as the worker's 'error' event.
      setImmediate(() => {
        throw err;
      }),
  );
  return true;
}
