import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { REUSE_ENV, type HttpConfig } from "./config.ts";
import { toRawHeaders, type Fields } from "./fields.ts";
import type { Live } from "./instances.ts";
import { InstancePool } from "./pool.ts";
import { IncomingRequest, OutgoingResponse, ResponseOutparam, type ResponseResult } from "./types.ts";

export interface ServerOptions {
  config: HttpConfig;
  /** The port to listen on (the config's, or the one the first worker got for port 0). */
  port: number;
  /** Several threads listen on the same port (SO_REUSEPORT); the kernel spreads connections. */
  shared: boolean;
  create: () => Live;
  /** A line for the container's log. */
  log: (line: string) => void;
}

export interface RunningServer {
  address: AddressInfo;
  /** Stops accepting, lets requests in flight finish until `deadline` (epoch ms), then cuts the rest. */
  stop(deadline: number): Promise<{ cut: number }>;
}

/** A trap's message without the "wasm trap: " jco's glue puts in front (the log line says it). */
const describe = (err: unknown) =>
  err instanceof Error
    ? `${err.name === "RuntimeError" ? "" : `${err.name}: `}${err.message.replace(/^wasm trap: /, "")}`
    : String(err);

function fail(res: ServerResponse, status: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = status === 503 ? "service unavailable\n" : "internal server error\n";
  res.writeHead(status, [
    "content-type",
    "text/plain; charset=utf-8",
    "content-length",
    String(Buffer.byteLength(body)),
  ]);
  res.end(body);
}

/** One thread's HTTP server: a request gets an instance from the pool and its handler's answer. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config, log } = opts;
  const pool = new InstancePool(
    opts.create,
    { reuse: config.reuse, size: Math.max(config.pool, config.reuse ? 1 : 0), concurrency: config.concurrency },
    (err) => log(`wasi:http: could not make an instance ahead of requests: ${describe(err)}`),
  );
  pool.prime();
  pool.fill();

  const served = new WeakMap<Live, number>();
  let stopping = false;
  const inFlight = new Set<ServerResponse>();
  const server = createServer((req, res) => void serve(req, res));

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight.add(res);
    res.once("close", () => inFlight.delete(res));
    if (stopping) res.shouldKeepAlive = false;
    let live: Live;
    try {
      live = await pool.acquire();
    } catch (err) {
      log(`wasi:http: no instance for ${req.method} ${req.url}: ${describe(err)}`);
      fail(res, 503);
      return;
    }
    let result: ResponseResult | undefined;
    const out = ResponseOutparam.create(
      (r) => {
        result = r;
        if (r.tag === "ok") arm(req, res, r.val);
      },
      (status, headers) => informational(res, status, headers),
    );
    let clean = true;
    const uses = (served.get(live) ?? 0) + 1;
    served.set(live, uses);
    try {
      await live.handle(new IncomingRequest(req), out);
    } catch (err) {
      clean = false;
      log(`wasm trap in ${req.method} ${req.url}: ${describe(err)}`);
    }
    const answered = finish(req, res, result, clean);
    if (config.reuse && clean && !answered && uses > 1 && pool.reuse) {
      // e.g. componentize-js's fetch event, which answers only the first request of an instance
      pool.stopReuse();
      log(
        `wasi:http: ${REUSE_ENV} is set, but this component did not answer a request on an instance it had used before; serving a fresh instance per request from now on`,
      );
    }
    pool.release(live, clean && answered);
    if (stopping) res.once("finish", () => setImmediate(() => server.closeIdleConnections()));
  }

  /** Completes the response after the handler returned; whether the handler gave a whole one. */
  function finish(
    req: IncomingMessage,
    res: ServerResponse,
    result: ResponseResult | undefined,
    clean: boolean,
  ): boolean {
    if (!result) {
      if (clean) log(`wasi:http: the handler for ${req.method} ${req.url} returned without setting a response`);
      fail(res, 500);
      return false;
    }
    if (result.tag === "err") {
      log(
        `wasi:http: the handler for ${req.method} ${req.url} answered with error ${JSON.stringify(result.val, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`,
      );
      fail(res, 500);
      return false;
    }
    const { sink, bodyTaken } = OutgoingResponse.parts(result.val);
    if (!clean && !sink.target) {
      // Nothing has gone out yet: the trap can still be reported as what it is.
      sink.connect = undefined;
      fail(res, 500);
      return false;
    }
    if (!bodyTaken && !sink.finished) {
      sink.finish();
      return true;
    }
    if (!sink.finished) {
      if (clean)
        log(`wasi:http: the handler for ${req.method} ${req.url} returned without finishing the response body`);
      sink.abort();
      if (!sink.target) fail(res, 500);
      return false;
    }
    return true;
  }

  function arm(req: IncomingMessage, res: ServerResponse, response: OutgoingResponse): void {
    const { status, headers, sink } = OutgoingResponse.parts(response);
    // A response to HEAD declares the length of a body it does not carry.
    if (req.method === "HEAD") sink.contentLength = undefined;
    sink.connect = () => {
      res.writeHead(status, toRawHeaders(headers));
      return res;
    };
    if (sink.written > 0 || sink.finished) sink.open();
  }

  function informational(res: ServerResponse, status: number, headers: Fields): void {
    if (status === 100) res.writeContinue();
    else if (status === 102) res.writeProcessing();
    else if (status === 103)
      res.writeEarlyHints(
        Object.fromEntries(headers.entries().map(([n, v]) => [n, Buffer.from(v).toString("latin1")])),
      );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: config.host, port: opts.port, reusePort: opts.shared }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log(`wasi:http: server error: ${describe(err)}`));

  return {
    address: server.address() as AddressInfo,
    async stop(deadline: number) {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()))),
      );
      const late = await Promise.race([closed.then(() => false), timedOut]);
      clearTimeout(timer);
      const cut = late ? inFlight.size : 0;
      if (late) server.closeAllConnections();
      pool.close();
      return { cut };
    },
  };
}
