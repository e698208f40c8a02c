import { Worker } from "node:worker_threads";
import { mainSource, THREAD_ARGV, type RunContext } from "@wasm-shims/shim-core";
import { writeAll } from "./stdio.ts";
import { parseHttpConfig, type HttpConfig } from "./http/config.ts";
import { usableCpus } from "./http/cpus.ts";
import { loadCoreModules } from "./http/instances.ts";
import { serveOnThisThread, SERVER_WORKER_KEY, type FromWorker, type ThreadSetup } from "./http/thread.ts";
import { ENTRY_MODULE } from "./transpile.ts";

interface Stopped {
  /** Requests still running at the deadline. */
  cut: number;
  /** The thread was busy in a handler that never yielded, and was ended from outside. */
  stuck?: boolean;
}

interface Server {
  port: number;
  stop(deadline: number): Promise<Stopped>;
}

/** A worker thread serving on the port; `failed` rejects if it dies. */
function spawnWorker(setup: ThreadSetup, failed: (err: Error) => void): Promise<Server> {
  const worker = new Worker(mainSource(), {
    eval: true,
    argv: [THREAD_ARGV],
    workerData: { [SERVER_WORKER_KEY]: setup },
    stdout: false,
    stderr: false,
  });
  let stopping = false;
  let onStopped: ((r: Stopped) => void) | undefined;
  return new Promise<Server>((resolve, reject) => {
    let started = false;
    worker.on("message", (msg: FromWorker) => {
      if ("listening" in msg) {
        started = true;
        resolve({
          port: msg.listening,
          stop: (deadline) =>
            new Promise<Stopped>((done) => {
              stopping = true;
              onStopped = done;
              worker.postMessage({ stop: deadline });
              // A thread stuck in a guest that never yields is ended a little after the deadline.
              setTimeout(
                () => void worker.terminate().then(() => done({ cut: 1, stuck: true })),
                Math.max(0, deadline - Date.now()) + 1000,
              ).unref();
            }).finally(() => void worker.terminate()),
        });
      } else if ("stopped" in msg) onStopped?.(msg.stopped);
    });
    worker.on("error", (err) => (started ? failed(err) : reject(err)));
    worker.on("exit", (code) => {
      if (!stopping) (started ? failed : reject)(new Error(`an HTTP worker thread exited (${code})`));
    });
  });
}

/**
 * Serves a wasi:http/incoming-handler component until the container is stopped, like `wasmtime
 * serve`: one event loop per CPU the container may use (worker threads sharing the port), each
 * with its own instances. SIGTERM (or SIGINT) stops accepting, lets requests in flight finish
 * within WASI_HTTP_DRAIN_TIMEOUT, and ends with status 0.
 */
export async function serveHttp(ctx: RunContext): Promise<number> {
  const config: HttpConfig = parseHttpConfig(ctx.env);
  const workers = config.workers ?? usableCpus(ctx.cpuQuota);
  const encoder = new TextEncoder();
  const log = (line: string) => writeAll(ctx.stderr, encoder.encode(`${line}\n`));
  let stop!: () => void;
  let fatal!: (err: Error) => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const died = new Promise<never>((_, reject) => (fatal = reject));
  died.catch(() => {});
  ctx.onSignal?.("SIGTERM", () => stop());
  ctx.onSignal?.("SIGINT", () => stop());

  // Each thread gets the component's JS and the compiled core modules (shared, not copied), not the files.
  const { module: _, onSignal: __, onWait: ____, cpuQuota: ___, files, ...guest } = ctx;
  const entry = files[ENTRY_MODULE]!;
  const core = await loadCoreModules(files);
  const setup = (port: number, shared: boolean): ThreadSetup => ({ ctx: guest, entry, config, core, port, shared });
  const servers: Server[] = [];
  if (workers === 1) {
    const server = await serveOnThisThread(setup(config.port, false));
    servers.push({ port: server.address.port, stop: (deadline) => server.stop(deadline) });
  } else {
    // The first thread binds (port 0 picks one); the others join it on that port.
    const first = await spawnWorker(setup(config.port, true), fatal);
    servers.push(
      first,
      ...(await Promise.all(Array.from({ length: workers - 1 }, () => spawnWorker(setup(first.port, true), fatal)))),
    );
  }
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const mode = config.reuse ? "instances reused across requests" : "a fresh instance per request";
  log(
    `serving HTTP on http://${host}:${servers[0]!.port}/ (${workers} ${workers === 1 ? "thread" : "threads"}, ${mode})`,
  );

  await Promise.race([stopped, died]);
  log(`stopping: no new connections; requests in flight have ${config.drainMs / 1000} s to finish`);
  const deadline = Date.now() + config.drainMs;
  const results = await Promise.all(servers.map((s) => s.stop(deadline)));
  const cut = results.reduce((n, r) => n + r.cut, 0);
  const stuck = results.filter((r) => r.stuck).length;
  if (stuck > 0)
    log(
      `${stuck} ${stuck === 1 ? "thread was" : "threads were"} still running a handler that never yielded, and ended`,
    );
  log(
    cut > 0
      ? `stopped; ${stuck > 0 ? "at least " : ""}${cut} ${cut === 1 ? "request was" : "requests were"} cut off at the deadline`
      : "stopped",
  );
  return 0;
}
