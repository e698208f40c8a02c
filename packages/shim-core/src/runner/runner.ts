import { readFileSync, writeSync } from "node:fs";
import { constants } from "node:os";
import { parentPort, Worker, workerData } from "node:worker_threads";
import type { Engine, RunContext } from "../engine.ts";
import { ASSET_DIR_ENV, CPU_QUOTA_ENV, GUEST_HAS_NO_HOME, GUEST_NODE_OPTIONS } from "../oci/runner-spec.ts";
import { mainSource } from "../runtime/sea.ts";

const WORKER_KEY = "wasmShimGuest";
/** Guest → runner: "send me this signal"; runner → guest: "this signal arrived". */
const SIGNAL_KEY = "wasmShimSignal";
/** What the runner exits with when the guest traps: 128 + SIGABRT, as wasmtime does. */
export const TRAP_EXIT = 134;

/** Node would print "ExperimentalWarning: WASI …" on the guest's stderr; that stream is the guest's alone. */
function silenceWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", () => {});
}

function guestEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  if (GUEST_NODE_OPTIONS in env) {
    env.NODE_OPTIONS = env[GUEST_NODE_OPTIONS]!;
    delete env[GUEST_NODE_OPTIONS];
  }
  delete env[ASSET_DIR_ENV];
  delete env[CPU_QUOTA_ENV];
  // The guest gets exactly the spec's env, not what runc added for the runner's sake.
  if (GUEST_HAS_NO_HOME in env) {
    delete env.HOME;
    delete env[GUEST_HAS_NO_HOME];
  }
  return env;
}

/**
 * The container's process for a Wasm entrypoint (`--run-wasm PATH -- ARGS…`), running inside the
 * container as its PID 1. The guest runs in a worker so this thread stays free to handle signals:
 * PID 1 ignores any signal it has no handler for, and a handler cannot run while the guest spins.
 */
export function runWasm(argv: readonly string[]): void {
  silenceWarnings();
  const [path, data, sep, ...args] = argv;
  if (!path || !data || sep !== "--") {
    writeSync(2, "usage: --run-wasm PATH DATA-JSON -- ARGS...\n");
    process.exit(2);
  }
  // Signals the guest asked to handle itself (RunContext.onSignal) go to its thread instead.
  const forwarded = new Set<string>();
  let worker: Worker | undefined;
  for (const [name, num] of Object.entries(constants.signals)) {
    if (["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"].includes(name)) {
      process.on(name as NodeJS.Signals, () => (worker && forwarded.has(name) ? worker.postMessage({ [SIGNAL_KEY]: name }) : process.exit(128 + num)));
    }
  }
  const ctx: Omit<RunContext, "module"> = { path, args, env: guestEnv(), cwd: process.cwd(), stdin: 0, stdout: 1, stderr: 2, data: JSON.parse(data) as Record<string, string> };
  const quota = Number(process.env[CPU_QUOTA_ENV]);
  if (quota > 0) ctx.cpuQuota = quota;
  worker = new Worker(mainSource(), { eval: true, workerData: { [WORKER_KEY]: ctx }, stdout: false, stderr: false });
  worker.on("message", (msg: { code: number } | { [SIGNAL_KEY]: string }) => {
    if (SIGNAL_KEY in msg) forwarded.add(msg[SIGNAL_KEY]);
    else process.exit(msg.code);
  });
  worker.on("error", (err: Error) => {
    const trap = err.name === "RuntimeError";
    writeSync(2, trap ? `wasm trap: ${err.message}\n` : `error: ${err.message}\n`);
    process.exit(trap ? TRAP_EXIT : 1);
  });
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
    if (handlers.size === 0) port.on("message", (msg: { [SIGNAL_KEY]?: string }) => msg[SIGNAL_KEY] && handlers.get(msg[SIGNAL_KEY])?.());
    handlers.set(signal, handler);
    port.postMessage({ [SIGNAL_KEY]: signal });
  };
  void (async () => {
    const module = new Uint8Array(readFileSync(ctx.path));
    const code = await engine.run({ ...ctx, module, onSignal });
    port.postMessage({ code });
  })().catch((err: unknown) => {
    // Rethrown outside the promise so the main thread receives it as the worker's 'error' event.
    setImmediate(() => {
      throw err;
    });
  });
  return true;
}
