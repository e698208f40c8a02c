/**
 * One accepted ttrpc connection: frames in, requests dispatched concurrently, responses out on the
 * request's stream id in completion order. Nothing a peer sends can throw out of this class.
 */
import type { Socket } from "node:net";
import { RequestSchema, ResponseSchema } from "../gen/wire/ttrpc/ttrpc.ts";
import { decode, encode } from "../wire/codec.ts";
import type { Request } from "../gen/ttrpc/ttrpc_pb.ts";
import { Code, ShimError, invalidArgument, toStatus } from "../errors.ts";
import { FrameDecoder, MAX_MESSAGE_LENGTH, MessageType, encodeFrame, isOversize } from "./frame.ts";
import type { DecodedFrame } from "./frame.ts";
import type { CallContext, UnaryHandler } from "./handler.ts";

/** Resolves a handler or throws the UNIMPLEMENTED error to send back. */
export type HandlerLookup = (service: string, method: string) => UnaryHandler;

type Outcome = { ok: Uint8Array } | { error: unknown };

/**
 * Bytes of answers a peer may leave unread (beyond what the kernel's socket buffer holds) before
 * the server stops reading from it. Small, as Go's blocking writes make it: with 150 peers that
 * never read, a 4 MiB allowance grew the daemon to 1 GB.
 */
export const MAX_UNREAD_ANSWERS = 64 << 10;

export class ServerConnection {
  readonly #socket: Socket;
  readonly #lookup: HandlerLookup;
  readonly #decoder = new FrameDecoder();
  readonly #abort = new AbortController();
  /** Settles after the socket closed, the signal aborted and onClose ran. */
  readonly closed: Promise<void>;

  constructor(socket: Socket, lookup: HandlerLookup, onClose: () => void) {
    this.#socket = socket;
    this.#lookup = lookup;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    // EPIPE/ECONNRESET and friends: the socket closes right after, which is all we need to know.
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#abort.abort(new ShimError(Code.CANCELLED, "ttrpc: connection closed"));
        onClose();
        resolve();
      });
    });
  }

  /**
   * Closes the connection once what was written to it has gone out to the kernel, or after
   * `graceMs`: the daemon closes right after its answer to containerd's Shutdown, which must not
   * be dropped.
   */
  destroy(graceMs = 1000): void {
    const socket = this.#socket;
    if (socket.writableLength === 0) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once("drain", () => {
      clearTimeout(timer);
      socket.destroy();
    });
  }

  #onData(chunk: Buffer): void {
    for (const frame of this.#decoder.push(chunk)) this.#onFrame(frame);
  }

  #onFrame(frame: DecodedFrame): void {
    const { streamId } = frame;
    if (isOversize(frame)) {
      const msg = `message length ${frame.oversize} exceeds maximum message size of ${MAX_MESSAGE_LENGTH}`;
      this.#reply(streamId, { error: new ShimError(Code.RESOURCE_EXHAUSTED, msg) });
      return;
    }
    // Data frames and future types belong to streaming, which a unary server ignores (ttrpc does too).
    if (frame.type !== MessageType.Request) return;
    let req: Request;
    try {
      req = decode(RequestSchema, frame.payload);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.#reply(streamId, { error: invalidArgument(`unmarshal request error: ${why}`) });
      return;
    }
    if (streamId % 2 !== 1) {
      this.#reply(streamId, { error: invalidArgument("StreamID must be odd for client initiated streams") });
      return;
    }
    void this.#dispatch(streamId, req);
  }

  async #dispatch(streamId: number, req: Request): Promise<void> {
    let outcome: Outcome;
    try {
      const handler = this.#lookup(req.service, req.method);
      outcome = { ok: await handler(req.payload, this.#context(req)) };
    } catch (err) {
      outcome = { error: err };
    }
    this.#reply(streamId, outcome);
  }

  #context(req: Request): CallContext {
    const metadata = new Map<string, string>();
    for (const kv of req.metadata) metadata.set(kv.key.toLowerCase(), kv.value);
    return {
      service: req.service,
      method: req.method,
      metadata,
      timeoutNano: req.timeoutNano,
      signal: this.#abort.signal,
    };
  }

  #reply(streamId: number, outcome: Outcome): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeResponse(streamId, outcome);
    } catch (err) {
      // A handler returned something unencodable or larger than 4 MiB: the caller still gets an answer.
      try {
        bytes = encodeResponse(streamId, { error: err });
      } catch {
        return;
      }
    }
    const socket = this.#socket;
    // A peer that went away gets nothing; a write that fails later is reported as the socket's 'error'.
    if (socket.destroyed || !socket.writable) return;
    socket.write(bytes);
    // A peer that sends but does not read would have its answers queue here without bound: stop
    // reading its requests until it has taken them.
    if (socket.writableLength > MAX_UNREAD_ANSWERS && !socket.isPaused()) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  }
}

function encodeResponse(streamId: number, outcome: Outcome): Uint8Array {
  // Success omits status entirely: the Go server does, so an Empty result is a 0-byte Response.
  const payload = encode(
    ResponseSchema,
    "ok" in outcome ? { payload: outcome.ok } : { status: toStatus(outcome.error) },
  );
  return encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload });
}
