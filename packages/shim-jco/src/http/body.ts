import type { Readable, Writable } from "node:stream";
import { io } from "@bytecodealliance/preview2-shim";
import { Signal } from "./pollable.ts";

/**
 * Request and response bodies as wasi:io streams over Node streams, in bounded memory: a guest
 * reads what the socket has delivered (Node stops reading the socket while it waits), and a
 * guest's writes are accepted only while less than HIGH_WATER bytes wait for the socket, so a
 * 100 MB body never sits in memory. streams.ts gives them to the guest as wasi:io streams.
 */
export const HIGH_WATER = 64 * 1024;
const EMPTY = new Uint8Array(0);

export type ErrorCode = { tag: string; val?: unknown };
export type StreamError = { tag: "closed" } | { tag: "last-operation-failed"; val: object };

const IoError = io.error.Error as unknown as new (message: string) => object;
const codes = new WeakMap<object, ErrorCode>();
export const closed = (): StreamError => ({ tag: "closed" });

/** A stream error whose wasi:io/error `http-error-code` gives back `code`. */
export function failed(message: string, code: ErrorCode = { tag: "internal-error", val: message }): StreamError {
  const err = new IoError(message);
  codes.set(err, code);
  return { tag: "last-operation-failed", val: err };
}

/** wasi:http/types.http-error-code. */
export const httpErrorCode = (err: object): ErrorCode | undefined => codes.get(err);

type Source = Readable & { complete?: boolean };

/** Incoming bytes: a request body on the server, a response body for an outgoing request. */
export class BodySource {
  readonly signal = new Signal();
  readonly #src: Source;
  #chunk: Uint8Array | null = null;
  #ended = false;
  #error: StreamError | null = null;

  constructor(src: Source) {
    this.#src = src;
    const notify = () => this.signal.notify();
    src.on("readable", notify);
    src.on("end", () => {
      this.#ended = true;
      notify();
    });
    src.on("error", (err: Error) => {
      this.#error ??= failed(`the body could not be read: ${err.message}`, { tag: "HTTP-protocol-error" });
      notify();
    });
    src.on("close", () => {
      if (!this.#ended && src.complete === false)
        this.#error ??= failed("the connection closed before the body was complete", { tag: "connection-terminated" });
      notify();
    });
  }

  #done(): boolean {
    return this.#ended || (this.#src.complete === true && this.#src.readableLength === 0);
  }

  ready(): boolean {
    return this.#chunk !== null || this.#src.readableLength > 0 || this.#error !== null || this.#done();
  }

  /** Up to `max` bytes now (possibly none); throws closed at the end, or the error. */
  take(max: number): Uint8Array {
    if (max <= 0) return EMPTY;
    if (this.#chunk === null) {
      const next = this.#src.read() as Buffer | string | null;
      if (next !== null) this.#chunk = typeof next === "string" ? Buffer.from(next) : next;
    }
    const chunk = this.#chunk;
    if (chunk !== null) {
      if (chunk.length <= max) {
        this.#chunk = null;
        return chunk;
      }
      this.#chunk = chunk.subarray(max);
      return chunk.subarray(0, max);
    }
    if (this.#error) throw this.#error;
    if (this.#done()) throw closed();
    return EMPTY;
  }

  /** Whether the whole body has arrived (or failed): trailers are known then. */
  settled(): boolean {
    return this.#error !== null || this.#ended || this.#src.complete === true;
  }

  get error(): StreamError | null {
    return this.#error;
  }

  /** Reads the rest and drops it (a guest that finishes a body without reading it all). */
  discard(): void {
    this.#chunk = null;
    this.#src.removeAllListeners("readable");
    this.#src.on("data", () => {});
    this.#src.resume();
  }

  /** Waits for bytes, the end or an error, then takes. */
  takeBlocking(max: number): Uint8Array | Promise<Uint8Array> {
    const now = this.take(max);
    if (now.length > 0 || max <= 0) return now;
    return this.signal.until(() => this.ready()).then(() => this.takeBlocking(max));
  }
}

type Target = Writable & { addTrailers?: (headers: [string, string][]) => void };

/**
 * Outgoing bytes: a response body on the server, a request body for an outgoing request. Until
 * the target exists (a response the guest has not set yet) up to HIGH_WATER bytes wait here.
 */
export class BodySink {
  readonly signal = new Signal();
  /** Enforced unless cleared (a response to HEAD declares a length it does not send). */
  contentLength: number | undefined;
  readonly #sizeError: "HTTP-response-body-size" | "HTTP-request-body-size";
  written = 0;
  finished = false;
  /** Set by the owner: makes the target (e.g. writes the response head) when bytes must go out. */
  connect: (() => Target) | undefined;
  #target: Target | null = null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #trailers: [string, string][] | undefined;
  #error: StreamError | null = null;

  constructor(contentLength: number | undefined, sizeError: "HTTP-response-body-size" | "HTTP-request-body-size") {
    this.contentLength = contentLength;
    this.#sizeError = sizeError;
  }

  get target(): Target | null {
    return this.#target;
  }

  budget(): number {
    if (this.#error || this.finished) return 0;
    return Math.max(0, HIGH_WATER - (this.#target ? this.#target.writableLength : this.#pendingBytes));
  }

  ready(): boolean {
    return this.budget() > 0 || this.#error !== null || this.finished;
  }

  check(): void {
    if (this.#error) throw this.#error;
    if (this.finished) throw closed();
  }

  write(buf: Uint8Array): void {
    this.check();
    if (this.contentLength !== undefined && this.written + buf.length > this.contentLength) {
      this.#error = failed(`the body is longer than its content-length (${this.contentLength})`, {
        tag: this.#sizeError,
        val: BigInt(this.written + buf.length),
      });
      throw this.#error;
    }
    this.written += buf.length;
    const target = this.#target ?? this.#open();
    if (target) target.write(buf);
    else {
      this.#pending.push(buf);
      this.#pendingBytes += buf.length;
    }
  }

  /** Resolves (or returns at once) when the budget allows more. */
  drained(): Promise<void> | undefined {
    this.#target ?? this.#open();
    if (this.ready()) return undefined;
    return this.signal.until(() => this.ready());
  }

  /** Ends the body; the error-code if it cannot end well (a short content-length). */
  finish(trailers?: [string, string][]): void {
    this.check();
    if (this.contentLength !== undefined && this.written !== this.contentLength) {
      const code: ErrorCode = { tag: this.#sizeError, val: BigInt(this.written) };
      this.#error = failed(`the body is shorter than its content-length (${this.contentLength})`, code);
      this.abort();
      throw code;
    }
    this.finished = true;
    this.#trailers = trailers;
    const target = this.#target ?? this.#open();
    if (target) this.#end(target);
  }

  /** Cuts the body off: the peer sees an incomplete message, never a complete wrong one. */
  abort(): void {
    this.#error ??= failed("the body was abandoned");
    this.#target?.destroy();
    this.signal.notify();
  }

  /** Opens the target now if the owner can make it (the response head goes out). */
  open(): Target | null {
    return this.#target ?? this.#open();
  }

  #open(): Target | null {
    if (!this.connect) return null;
    const target = this.connect();
    this.connect = undefined;
    this.#target = target;
    target.on("drain", () => this.signal.notify());
    target.on("close", () => {
      if (!this.finished) this.#error ??= failed("the peer closed the connection", { tag: "connection-terminated" });
      this.signal.notify();
    });
    target.on("error", () => {
      this.#error ??= failed("the connection failed", { tag: "connection-terminated" });
      this.signal.notify();
    });
    for (const buf of this.#pending) target.write(buf);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.finished) this.#end(target);
    this.signal.notify();
    return target;
  }

  #end(target: Target): void {
    if (this.#trailers?.length && target.addTrailers) target.addTrailers(this.#trailers);
    target.end();
  }
}
