import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { BodySink, type ErrorCode } from "./body.ts";
import { Fields, fromRawHeaders } from "./fields.ts";
import { Signal, type Pollable } from "./pollable.ts";
import { bodySource, contentLength, IncomingBody, methodName, OutgoingBody, type Method } from "./types.ts";

/**
 * wasi:http/outgoing-handler on this thread's event loop with node:http(s): the request head goes
 * out when `handle` is called, the body streams as the guest writes it, and the response is a
 * future the guest polls (suspending, under JSPI) while the thread serves other requests.
 */
type Scheme = { tag: "HTTP" } | { tag: "HTTPS" } | { tag: "other"; val: string };

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class RequestOptions {
  #connect: bigint | undefined;
  #firstByte: bigint | undefined;
  #betweenBytes: bigint | undefined;
  connectTimeout(): bigint | undefined {
    return this.#connect;
  }
  setConnectTimeout(d: bigint | undefined): void {
    this.#connect = d;
  }
  firstByteTimeout(): bigint | undefined {
    return this.#firstByte;
  }
  setFirstByteTimeout(d: bigint | undefined): void {
    this.#firstByte = d;
  }
  betweenBytesTimeout(): bigint | undefined {
    return this.#betweenBytes;
  }
  setBetweenBytesTimeout(d: bigint | undefined): void {
    this.#betweenBytes = d;
  }
  static timeouts(o: RequestOptions | undefined): {
    connect?: number | undefined;
    firstByte?: number | undefined;
    betweenBytes?: number | undefined;
  } {
    const ms = (d: bigint | undefined) => (d === undefined ? undefined : Math.max(1, Number(d / 1_000_000n)));
    if (!o) return {};
    return { connect: ms(o.#connect), firstByte: ms(o.#firstByte), betweenBytes: ms(o.#betweenBytes) };
  }
}

export class OutgoingRequest {
  #method: Method = { tag: "get" };
  #scheme: Scheme | undefined;
  #path: string | undefined;
  #authority: string | undefined;
  readonly #headers: Fields;
  readonly #sink: BodySink;
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.#headers = Fields.lock(headers);
    this.#sink = new BodySink(contentLength(headers), "HTTP-request-body-size");
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw undefined;
    this.#bodyTaken = true;
    return new OutgoingBody(this.#sink);
  }
  method(): Method {
    return this.#method;
  }
  setMethod(m: Method): void {
    if (m.tag === "other" && !TOKEN.test(m.val)) throw undefined;
    this.#method = m;
  }
  pathWithQuery(): string | undefined {
    return this.#path;
  }
  setPathWithQuery(p: string | undefined): void {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a request target with control characters is refused.
    if (p !== undefined && /[\s\x00-\x1f\x7f]/.test(p)) throw undefined;
    this.#path = p;
  }
  scheme(): Scheme | undefined {
    return this.#scheme;
  }
  setScheme(s: Scheme | undefined): void {
    if (s?.tag === "other" && !/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(s.val)) throw undefined;
    this.#scheme = s;
  }
  authority(): string | undefined {
    return this.#authority;
  }
  setAuthority(a: string | undefined): void {
    if (a !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^\s/?#@[\]:]+)(:\d{1,5})?$/.test(a)) throw undefined;
    this.#authority = a;
  }
  headers(): Fields {
    return Fields.received(this.#headers.entries());
  }

  static send(r: OutgoingRequest, options: RequestOptions | undefined): FutureIncomingResponse {
    const future = new FutureIncomingResponse();
    const scheme =
      r.#scheme?.tag === "HTTP" ? "http" : r.#scheme === undefined || r.#scheme.tag === "HTTPS" ? "https" : undefined;
    if (!scheme) throw { tag: "HTTP-protocol-error" } satisfies ErrorCode;
    if (!r.#authority) throw { tag: "HTTP-request-URI-invalid" } satisfies ErrorCode;
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(r.#authority)!;
    const timeouts = RequestOptions.timeouts(options);
    const req = (scheme === "http" ? httpRequest : httpsRequest)({
      agent: agents[scheme],
      method: methodName(r.#method),
      host: m[1] ?? m[2],
      port: m[3] ? Number(m[3]) : undefined,
      path: r.#path || "/",
      setHost: true,
    });
    for (const [name, value] of r.#headers.raw()) req.appendHeader(name, Buffer.from(value).toString("latin1"));
    const fail = (code: ErrorCode) => {
      future.settle({ tag: "err", val: code });
      req.destroy();
    };
    let connectTimer: NodeJS.Timeout | undefined;
    let firstByteTimer: NodeJS.Timeout | undefined;
    if (timeouts.connect) connectTimer = setTimeout(() => fail({ tag: "connection-timeout" }), timeouts.connect);
    req.on("socket", (socket) => {
      const connected = () => clearTimeout(connectTimer);
      if (socket.connecting) socket.once("connect", connected);
      else connected();
    });
    req.on("finish", () => {
      if (timeouts.firstByte)
        firstByteTimer = setTimeout(() => fail({ tag: "HTTP-response-timeout" }), timeouts.firstByte);
    });
    req.on("error", (err: NodeJS.ErrnoException) => future.settle({ tag: "err", val: errorCode(err) }));
    req.on("response", (res: IncomingMessage) => {
      clearTimeout(connectTimer);
      clearTimeout(firstByteTimer);
      if (timeouts.betweenBytes)
        res.setTimeout(timeouts.betweenBytes, () => res.destroy(new Error("between-bytes timeout")));
      future.settle({ tag: "ok", val: new IncomingResponse(res) });
    });
    r.#sink.connect = () => req;
    if (r.#bodyTaken) r.#sink.open();
    else req.end();
    return future;
  }
}

function errorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case "ECONNREFUSED":
      return { tag: "connection-refused" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return { tag: "DNS-error", val: { rcode: err.code, infoCode: undefined } };
    case "ETIMEDOUT":
      return { tag: "connection-timeout" };
    case "ECONNRESET":
    case "EPIPE":
      return { tag: "connection-terminated" };
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return { tag: "destination-unavailable" };
    default:
      if (err.code?.startsWith("ERR_TLS") || err.code?.includes("CERT")) return { tag: "TLS-certificate-error" };
      if (err.code?.startsWith("ERR_SSL")) return { tag: "TLS-protocol-error" };
      return { tag: "internal-error", val: err.message };
  }
}

type FutureResult = { tag: "ok"; val: IncomingResponse } | { tag: "err"; val: ErrorCode };

export class FutureIncomingResponse {
  readonly #signal = new Signal();
  #result: FutureResult | undefined;
  #taken = false;
  settle(result: FutureResult): void {
    if (this.#result) return;
    this.#result = result;
    this.#signal.notify();
  }
  subscribe(): Pollable {
    return this.#signal.pollable(() => this.#result !== undefined);
  }
  get(): { tag: "ok"; val: FutureResult } | { tag: "err"; val: undefined } | undefined {
    if (!this.#result) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    return { tag: "ok", val: this.#result };
  }
  [Symbol.dispose](): void {}
}

export class IncomingResponse {
  readonly #res: IncomingMessage;
  #consumed = false;
  constructor(res: IncomingMessage) {
    this.#res = res;
  }
  status(): number {
    return this.#res.statusCode ?? 0;
  }
  headers(): Fields {
    return fromRawHeaders(this.#res.rawHeaders);
  }
  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(bodySource(this.#res));
  }
  [Symbol.dispose](): void {
    if (!this.#consumed) this.#res.resume();
  }
}

export const outgoingHandler = {
  handle: (request: OutgoingRequest, options: RequestOptions | undefined): FutureIncomingResponse =>
    OutgoingRequest.send(request, options),
};
