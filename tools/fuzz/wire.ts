/** A ttrpc peer with no protocol logic of its own: raw bytes out, response frames in by stream id. */
import net from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { ResponseSchema, type Response } from "@wasm-shims/shim-core/src/gen/ttrpc/ttrpc_pb.ts";
import { FrameDecoder, MessageType, isOversize } from "@wasm-shims/shim-core/src/ttrpc/frame.ts";

export type Answer =
  | { kind: "response"; response: Response }
  | { kind: "bad-frame"; why: string }
  | { kind: "closed" }
  | { kind: "timeout" };

export class RawConnection {
  readonly #socket: net.Socket;
  readonly #decoder = new FrameDecoder();
  readonly #waiting = new Map<number, (a: Answer) => void>();
  /** Frames that answered no request we are waiting for, e.g. a reply to garbage. */
  unsolicited = 0;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) {
        const settle = this.#waiting.get(frame.streamId);
        if (!settle) {
          this.unsolicited += 1;
          continue;
        }
        this.#waiting.delete(frame.streamId);
        if (isOversize(frame)) settle({ kind: "bad-frame", why: `oversize response of ${frame.oversize} bytes` });
        else if (frame.type !== MessageType.Response) settle({ kind: "bad-frame", why: `frame type ${frame.type}` });
        else {
          try {
            settle({ kind: "response", response: fromBinary(ResponseSchema, frame.payload) });
          } catch (err) {
            settle({ kind: "bad-frame", why: `undecodable response: ${(err as Error).message}` });
          }
        }
      }
    });
    socket.on("close", () => {
      this.#closed = true;
      for (const settle of this.#waiting.values()) settle({ kind: "closed" });
      this.#waiting.clear();
    });
  }

  static connect(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(path);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawConnection(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pending(): number {
    return this.#waiting.size;
  }

  send(bytes: Uint8Array): void {
    if (!this.#closed) this.#socket.write(bytes);
  }

  /** Sends a frame and waits for the response on its stream id. */
  exchange(streamId: number, frame: Uint8Array, timeoutMs: number): Promise<Answer> {
    if (this.#closed) return Promise.resolve({ kind: "closed" });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(streamId);
        resolve({ kind: "timeout" });
      }, timeoutMs);
      this.#waiting.set(streamId, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.send(frame);
    });
  }

  /** Stops reading: the server's writes back up, as with a client that hangs. */
  pause(): void {
    this.#socket.pause();
  }

  close(): void {
    this.#socket.destroy();
  }
}
