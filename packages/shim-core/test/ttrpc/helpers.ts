/** Test plumbing: temp socket paths and a raw frame-level peer for poking servers byte by byte. */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RequestSchema, ResponseSchema } from "../../src/gen/ttrpc/ttrpc_pb.ts";
import type { Response } from "../../src/gen/ttrpc/ttrpc_pb.ts";
import { FrameDecoder, MessageType, encodeFrame, isOversize } from "../../src/ttrpc/frame.ts";
import type { Frame } from "../../src/ttrpc/frame.ts";

const dirs: string[] = [];

/** Short paths: sun_path is limited to 108 bytes. */
export function tempSocketPath(name = "t.sock"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ttrpc-"));
  dirs.push(dir);
  return path.join(dir, name);
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString("hex")
    .replace(/(..)(?!$)/g, "$1 ");
}

export function requestFrame(streamId: number, init: MessageInitShape<typeof RequestSchema>): Uint8Array {
  const payload = toBinary(RequestSchema, create(RequestSchema, init));
  return encodeFrame({ streamId, type: MessageType.Request, flags: 0, payload });
}

export function decodeResponse(frame: Frame): Response {
  return fromBinary(ResponseSchema, frame.payload);
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A client that speaks raw bytes and collects whole frames, with no ttrpc logic of its own. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly raw: Buffer[] = [];
  readonly closed: Promise<void>;
  readonly #decoder = new FrameDecoder();
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      this.raw.push(chunk);
      for (const f of this.#decoder.push(chunk)) if (!isOversize(f)) this.frames.push(f);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
  }

  static connect(socketPath: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawPeer(socket));
      });
    });
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until at least n frames arrived in total. */
  async waitFrames(n: number, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`got ${this.frames.length} frames, wanted ${n}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.slice(0, n);
  }

  close(): void {
    this.socket.destroy();
  }
}
