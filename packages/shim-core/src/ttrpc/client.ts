/**
 * Minimal unary ttrpc client (used to publish events to containerd). Stream ids are 1, 3, 5, …
 * per connection because ttrpc >= 1.2 servers reject ids that are even or do not increase.
 */
import net from "node:net";
import { RequestSchema, ResponseSchema } from "../gen/wire/ttrpc/ttrpc.ts";
import { decode, encode } from "../wire/codec.ts";
import { Code, ShimError } from "../errors.ts";
import { FrameDecoder, MessageType, encodeFrame, isOversize } from "./frame.ts";
import type { DecodedFrame } from "./frame.ts";

export interface CallOptions {
  /** Sent as timeout_nano and enforced locally; a late response is then discarded. */
  timeoutMs?: number;
  metadata?: Record<string, string>;
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

const LAST_STREAM_ID = 0xffff_ffff;

export class TtrpcClient {
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder();
  readonly #pending = new Map<number, Pending>();
  #nextStreamId = 1;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) this.#onFrame(frame);
    });
    socket.on("error", () => {});
    socket.on("close", () => this.#onClosed());
  }

  /** path may be bare or carry a unix:// prefix (the form containerd puts in TTRPC_ADDRESS). */
  static connect(path: string): Promise<TtrpcClient> {
    const bare = path.startsWith("unix://") ? path.slice("unix://".length) : path;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(bare);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new TtrpcClient(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#nextStreamId > LAST_STREAM_ID) {
      // Ids cannot wrap on one connection; a fresh connection restarts at 1.
      this.close();
      return Promise.reject(closedError());
    }
    const streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    const request = encode(RequestSchema, {
      service,
      method,
      payload,
      metadata: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      timeoutNano: opts.timeoutMs === undefined ? 0n : BigInt(Math.ceil(opts.timeoutMs)) * 1_000_000n,
    });
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ streamId, type: MessageType.Request, flags: 0, payload: request });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: undefined };
      if (opts.timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.#pending.delete(streamId);
          reject(
            new ShimError(Code.DEADLINE_EXCEEDED, `ttrpc: ${service}/${method} timed out after ${opts.timeoutMs} ms`),
          );
        }, opts.timeoutMs);
      }
      this.#pending.set(streamId, pending);
      this.#socket.write(frame);
    });
  }

  close(): void {
    this.#socket.destroy();
    this.#onClosed();
  }

  #onFrame(frame: DecodedFrame): void {
    const pending = this.#pending.get(frame.streamId);
    if (pending === undefined || frame.type !== MessageType.Response) return;
    this.#pending.delete(frame.streamId);
    clearTimeout(pending.timer);
    if (isOversize(frame)) {
      pending.reject(new ShimError(Code.RESOURCE_EXHAUSTED, `ttrpc: response of ${frame.oversize} bytes is too large`));
      return;
    }
    let response;
    try {
      response = decode(ResponseSchema, frame.payload);
    } catch (err) {
      pending.reject(new ShimError(Code.INTERNAL, `ttrpc: undecodable response: ${String(err)}`));
      return;
    }
    const status = response.status;
    if (status !== undefined && status.code !== Code.OK) {
      // The remote code is passed through as is, even one this codebase has no name for.
      pending.reject(new ShimError(status.code as Code, status.message));
      return;
    }
    pending.resolve(response.payload);
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(closedError());
    }
    this.#pending.clear();
  }
}

function closedError(): ShimError {
  return new ShimError(Code.UNAVAILABLE, "ttrpc: closed");
}
