import { unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { Task } from "../gen/wire/containerd/task/v2/shim.ts";
import type { Engine } from "../wasm/engine.ts";
import { imageArchitecture } from "../containerd/image-config.ts";
import { EventPublisher } from "../events/publisher.ts";
import { fdLogger } from "../log.ts";
import { hostMounter } from "../oci/host-mounter.ts";
import { runcRuntime } from "../runc/runc.ts";
import { TtrpcServer } from "../ttrpc/server.ts";
import { TaskService } from "../task/service.ts";
import { defaultRuncRoot } from "./delete.ts";
import type { ShimFlags } from "./flags.ts";
import { trimHeapWhenGrown } from "./heap-trim.ts";
import { watchOrphans } from "./orphans.ts";
import { bundleCodeCache, bundleSource } from "../sea/sea.ts";
import { shimVersion } from "../sea/version.ts";
import { traceTaskService } from "../telemetry/task-spans.ts";
import { loadTracing, tracingEnabled } from "../telemetry/tracing.ts";
import { containerdWasmImage } from "../wasm/image-entrypoint.ts";
import { CONTAINERD_PID_ENV } from "./spare-client.ts";
import { spawnSpare } from "./spare-spawn.ts";

/** How long an exiting daemon waits for its clients to close their connections. */
const CLIENT_LINGER_MS = 100;

/** How a daemon gets its socket and its log: by default as `start` spawns it, fd 3 and stderr. */
export interface ServeOptions {
  /** The first container's `log` FIFO, which containerd copies into its own log. */
  logFd?: number;
  listen?: (server: TtrpcServer) => Promise<void>;
}

/**
 * The long-lived shim: serves the Task API on the socket `start` bound (fd 3) until Shutdown finds
 * no container left. Its stderr is the first container's `log` FIFO, which containerd copies into
 * its own log.
 */
export async function serve(flags: ShimFlags, engine: Engine, opts: ServeOptions = {}): Promise<void> {
  const log = fdLogger(opts.logFd ?? 2, flags.debug ? "debug" : "info", {
    runtime: `io.containerd.${engine.name}.v1`,
    namespace: flags.namespace,
    pid: process.pid,
  });
  const events = new EventPublisher({
    ttrpcAddress: process.env.TTRPC_ADDRESS ?? "",
    namespace: flags.namespace,
    log: (m) => log.warn(m),
  });
  const server = new TtrpcServer({ log: (m) => log.warn(m) });
  let stopping = false;
  let spared: Promise<void> | undefined;
  const spare = () =>
    (spared ??= spawnSpare(flags.address, dirname(flags.socket), process.env[CONTAINERD_PID_ENV], log));
  let flushTracing = (_ms: number): Promise<void> => Promise.resolve();
  const exit = () => {
    if (stopping) return;
    stopping = true;
    // At once, before answering: from now on a `start` for this pod must spawn a new daemon
    // rather than hand containerd this one. While we listen, the path can only be ours.
    try {
      unlinkSync(flags.socket);
    } catch {
      // already gone
    }
    // Answer the Shutdown first (its answer is written in this turn of the event loop, and the
    // server closes a connection only once its writes are out); then deliver pending events and
    // go, no later: containerd closes its side itself and runs `delete` at once, and a daemon
    // still exiting competes with that boot for the CPU.
    setImmediate(async () => {
      await events.flush(3000).catch(() => {});
      await flushTracing(2000);
      // containerd closes its side as soon as Shutdown is answered. Until it has, what it sent
      // just after (a pod's next Create) is still read and refused with UNAVAILABLE, not cut off.
      await server.clientsGone(CLIENT_LINGER_MS);
      await server.close();
      await spare();
      log.info("shim exiting");
      process.exit(0);
    });
  };
  const address = flags.address;
  const service = new TaskService({
    engine,
    defaultRuncRoot: defaultRuncRoot(engine.name, flags.namespace),
    ociRuntime: runcRuntime,
    mounter: hostMounter,
    ...(address
      ? {
          imageArchitecture: (id: string) => imageArchitecture(address, flags.namespace, id),
          wasmImage: containerdWasmImage(address, flags.namespace),
        }
      : {}),
    events,
    log,
    onShutdown: exit,
    socket: flags.socket,
  });
  watchOrphans({
    service,
    connections: () => server.connections(),
    accepted: () => server.accepted(),
    log,
    exit,
    ...(flags.bundle ? { bundle: flags.bundle } : {}),
  });
  const tracing = tracingEnabled() ? await loadTracing(`containerd-shim-${engine.name}-v1`, shimVersion) : undefined;
  const served = tracing
    ? traceTaskService(service, tracing, {
        engine: engine.name,
        namespace: flags.namespace,
        containerdAddress: flags.address,
        log,
      })
    : service;
  flushTracing = (ms) => tracing?.flush(ms) ?? Promise.resolve();
  for (const name of ["containerd.task.v2.Task", "containerd.task.v3.Task"]) server.registerService(name, Task, served);
  // A client's mistake must never take down the containers this daemon serves.
  process.on("uncaughtException", (err) => log.error("uncaught exception", { error: err.stack ?? err.message }));
  process.on("unhandledRejection", (err) =>
    log.error("unhandled rejection", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
  for (const sig of ["SIGINT", "SIGHUP", "SIGTERM"] as const) process.on(sig, () => log.info(`ignoring ${sig}`));
  await (opts.listen ?? ((s) => s.listenFd(3)))(server);
  trimHeapWhenGrown();
  log.info("serving", {
    engine: engine.version,
    socket: flags.socket,
    codeCache: bundleCodeCache() ?? "",
    bundleSource: bundleSource() ?? "",
  });
  // The next pod's daemon, waiting at the lowest priority (none for a daemon started by hand). Not
  // at once: measured, its boot beside this pod's Create and Start cost them 5-18 ms.
  setTimeout(() => void spare(), 1000).unref();
}
