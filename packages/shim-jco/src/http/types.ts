import type { IncomingMessage } from "node:http";
import { BodySink, BodySource, type ErrorCode } from "./body.ts";
import { BodyInputStream, BodyOutputStream } from "./streams.ts";
import { Fields, fromRawHeaders } from "./fields.ts";
import type { Pollable } from "./pollable.ts";

/**
 * The server side of wasi:http/types: what a request handler is given and what it answers with.
 * Results and errors follow jco's conventions: an `err` is thrown as its payload (`undefined` for
 * a bare `result`), and an option is `undefined` or the value.
 */
export type Method =
  | { tag: "get" | "head" | "post" | "put" | "delete" | "connect" | "options" | "trace" | "patch" }
  | { tag: "other"; val: string };
const METHODS = new Set(["get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"]);

export function methodOf(name: string): Method {
  const lower = name.toLowerCase();
  return METHODS.has(lower) && name === name.toUpperCase() ? ({ tag: lower } as Method) : { tag: "other", val: name };
}

export function methodName(method: Method): string {
  return method.tag === "other" ? method.val : method.tag.toUpperCase();
}

/** The first content-length value, when it is a plain number. */
export function contentLength(fields: Fields): number | undefined {
  const [value] = fields.get("content-length");
  if (!value) return undefined;
  const text = Buffer.from(value).toString("latin1").trim();
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

export class IncomingBody {
  readonly #source: BodySource;
  #streamTaken = false;
  constructor(source: BodySource) {
    this.#source = source;
  }
  stream(): BodyInputStream {
    if (this.#streamTaken) throw undefined;
    this.#streamTaken = true;
    return new BodyInputStream(this.#source);
  }
  static finish(body: IncomingBody): FutureTrailers {
    if (!body.#source.settled()) body.#source.discard();
    return new FutureTrailers(body.#source);
  }
  [Symbol.dispose](): void {}
}

type TrailerResult =
  | { tag: "ok"; val: { tag: "ok"; val: Fields | undefined } | { tag: "err"; val: ErrorCode } }
  | { tag: "err"; val: undefined };

export class FutureTrailers {
  readonly #source: BodySource;
  #taken = false;
  constructor(source: BodySource) {
    this.#source = source;
  }
  subscribe(): Pollable {
    return this.#source.signal.pollable(() => this.#source.settled());
  }
  get(): TrailerResult | undefined {
    if (!this.#source.settled()) return undefined;
    if (this.#taken) return { tag: "err", val: undefined };
    this.#taken = true;
    const error = this.#source.error;
    if (error?.tag === "last-operation-failed")
      return { tag: "ok", val: { tag: "err", val: { tag: "connection-terminated" } } };
    const raw = trailersOf.get(this.#source)?.() ?? [];
    return { tag: "ok", val: { tag: "ok", val: raw.length ? fromRawHeaders(raw) : undefined } };
  }
  [Symbol.dispose](): void {}
}

/** Where a body's trailers come from (Node's rawTrailers, complete after the body ends). */
export const trailersOf = new WeakMap<BodySource, () => string[]>();

export function bodySource(msg: IncomingMessage): BodySource {
  const source = new BodySource(msg);
  trailersOf.set(source, () => msg.rawTrailers);
  return source;
}

export class IncomingRequest {
  readonly #req: IncomingMessage;
  #consumed = false;
  constructor(req: IncomingMessage) {
    this.#req = req;
  }
  method(): Method {
    return methodOf(this.#req.method ?? "GET");
  }
  pathWithQuery(): string | undefined {
    return this.#req.url;
  }
  scheme(): { tag: "HTTP" } {
    return { tag: "HTTP" };
  }
  authority(): string | undefined {
    return this.#req.headers.host;
  }
  headers(): Fields {
    return fromRawHeaders(this.#req.rawHeaders);
  }
  consume(): IncomingBody {
    if (this.#consumed) throw undefined;
    this.#consumed = true;
    return new IncomingBody(bodySource(this.#req));
  }
  [Symbol.dispose](): void {}
}

export class OutgoingBody {
  readonly #sink: BodySink;
  #streamTaken = false;
  #done = false;
  constructor(sink: BodySink) {
    this.#sink = sink;
  }
  write(): BodyOutputStream {
    if (this.#streamTaken) throw undefined;
    this.#streamTaken = true;
    return new BodyOutputStream(this.#sink);
  }
  static finish(body: OutgoingBody, trailers: Fields | undefined): void {
    body.#done = true;
    const pairs = trailers?.entries().map(([n, v]): [string, string] => [n, Buffer.from(v).toString("latin1")]);
    body.#sink.finish(pairs);
  }
  /** Dropped without finish: the message must not look complete. */
  [Symbol.dispose](): void {
    if (!this.#done) {
      this.#done = true;
      this.#sink.abort();
    }
  }
}

export class OutgoingResponse {
  #status = 200;
  readonly #headers: Fields;
  readonly #sink: BodySink;
  #bodyTaken = false;
  constructor(headers: Fields) {
    this.#headers = Fields.lock(headers);
    this.#sink = new BodySink(contentLength(headers), "HTTP-response-body-size");
  }
  statusCode(): number {
    return this.#status;
  }
  setStatusCode(status: number): void {
    if (!Number.isInteger(status) || status < 100 || status > 999) throw undefined;
    this.#status = status;
  }
  headers(): Fields {
    return Fields.received(this.#headers.entries());
  }
  body(): OutgoingBody {
    if (this.#bodyTaken) throw undefined;
    this.#bodyTaken = true;
    return new OutgoingBody(this.#sink);
  }
  /** For the server: the status, the headers as set, the body and whether the guest took it. */
  static parts(r: OutgoingResponse): { status: number; headers: Fields; sink: BodySink; bodyTaken: boolean } {
    return { status: r.#status, headers: r.#headers, sink: r.#sink, bodyTaken: r.#bodyTaken };
  }
  [Symbol.dispose](): void {}
}

export type ResponseResult = { tag: "ok"; val: OutgoingResponse } | { tag: "err"; val: ErrorCode };

export class ResponseOutparam {
  #onSet: ((r: ResponseResult) => void) | undefined;
  #onInformational: ((status: number, headers: Fields) => void) | undefined;
  static create(
    onSet: (r: ResponseResult) => void,
    onInformational: (status: number, headers: Fields) => void,
  ): ResponseOutparam {
    const param = new ResponseOutparam();
    param.#onSet = onSet;
    param.#onInformational = onInformational;
    return param;
  }
  static set(param: ResponseOutparam, response: ResponseResult): void {
    const onSet = param.#onSet;
    if (!onSet) throw new Error("response-outparam.set: the response was already set");
    param.#onSet = undefined;
    onSet(response);
  }
  sendInformational(status: number, headers: Fields): void {
    if (!this.#onSet || status < 100 || status > 199 || status === 101)
      throw { tag: "HTTP-protocol-error" } satisfies ErrorCode;
    this.#onInformational?.(status, headers);
  }
  [Symbol.dispose](): void {}
}
