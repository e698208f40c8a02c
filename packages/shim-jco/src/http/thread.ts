import { parentPort, workerData } from "node:worker_threads";
import type { RunContext } from "@wasm-shims/shim-core";
import { guestImports, loadComponent } from "../run.ts";
import { writeAll } from "../stdio.ts";
import { httpErrorCode } from "./body.ts";
import type { HttpConfig } from "./config.ts";
import { Fields } from "./fields.ts";
import { instanceFactory, type CoreModules } from "./instances.ts";
import {
  FutureIncomingResponse,
  IncomingResponse,
  OutgoingRequest,
  outgoingHandler,
  RequestOptions,
} from "./outgoing.ts";
import { monotonicClock, poll, Pollable, readyPollable } from "./pollable.ts";
import { startServer, type RunningServer } from "./server.ts";
import { ENTRY_MODULE } from "../transpile.ts";
import {
  FutureTrailers,
  IncomingBody,
  IncomingRequest,
  OutgoingBody,
  OutgoingResponse,
  ResponseOutparam,
} from "./types.ts";

/** What a server thread needs of the guest's context: its files come as `entry` and compiled modules. */
export type GuestContext = Omit<RunContext, "module" | "onSignal" | "cpuQuota" | "files">;

/** WASI for a served component: preview2-shim's, with HTTP, polling and timers on this thread. */
export async function httpImports(ctx: GuestContext): Promise<Record<string, unknown>> {
  const imports = await guestImports(ctx);
  // stdout/stderr are written synchronously, so they are always ready for more.
  for (const [iface, getter] of [
    ["wasi:cli/stdout", "getStdout"],
    ["wasi:cli/stderr", "getStderr"],
  ] as const) {
    const stream = (imports[iface] as Record<string, () => { subscribe: () => unknown }>)[getter]!();
    stream.subscribe = readyPollable;
  }
  imports["wasi:io/poll"] = { Pollable, poll };
  imports["wasi:clocks/monotonic-clock"] = monotonicClock;
  imports["wasi:http/types"] = {
    Fields,
    FutureIncomingResponse,
    FutureTrailers,
    IncomingBody,
    IncomingRequest,
    IncomingResponse,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    RequestOptions,
    ResponseOutparam,
    httpErrorCode,
  };
  imports["wasi:http/outgoing-handler"] = outgoingHandler;
  return imports;
}

export interface ThreadSetup {
  ctx: GuestContext;
  /** The transpiled component's JS (ENTRY_MODULE). */
  entry: Uint8Array;
  config: HttpConfig;
  core: CoreModules;
  port: number;
  shared: boolean;
}

/** Serves on this thread: the component's JS loaded here, instances made here. */
export async function serveOnThisThread(setup: ThreadSetup): Promise<RunningServer> {
  const imports = await httpImports(setup.ctx);
  const instantiate = await loadComponent({ [ENTRY_MODULE]: setup.entry });
  const create = instanceFactory(instantiate as never, imports, setup.core, setup.config.pool + 2);
  const encoder = new TextEncoder();
  const log = (line: string) => writeAll(setup.ctx.stderr, encoder.encode(`${line}\n`));
  return startServer({ config: setup.config, port: setup.port, shared: setup.shared, create, log });
}

export const SERVER_WORKER_KEY = "wasmShimHttpServer";

export type ToWorker = { stop: number };
export type FromWorker = { listening: number } | { stopped: { cut: number } };

/** True (and the server is started) when this thread is one of the server's worker threads. */
export function runServerWorker(): boolean {
  const setup = (workerData as Record<string, ThreadSetup> | null)?.[SERVER_WORKER_KEY];
  if (!setup || !parentPort) return false;
  const port = parentPort;
  serveOnThisThread(setup).then(
    (server) => {
      port.on("message", (msg: ToWorker) => {
        void server.stop(msg.stop).then((stopped) => port.postMessage({ stopped } satisfies FromWorker));
      });
      port.postMessage({ listening: server.address.port } satisfies FromWorker);
    },
    (err: unknown) =>
      setImmediate(() => {
        throw err;
      }),
  );
  return true;
}
