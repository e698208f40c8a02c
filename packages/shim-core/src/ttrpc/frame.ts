/**
 * ttrpc framing: a 10-byte big-endian header (payload length u32, stream id u32, type u8, flags u8)
 * followed by the payload. Pure bytes in, frames out; no sockets here.
 */
import { Code, ShimError } from "../errors.ts";

export const HEADER_LENGTH = 10;
/** ttrpc's limit in every version; anything larger is refused on send and discarded on receive. */
export const MAX_MESSAGE_LENGTH = 4 << 20;

export const MessageType = { Request: 1, Response: 2, Data: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Frame {
  streamId: number;
  /** A plain number: unknown types must survive decoding so the server can ignore them. */
  type: number;
  flags: number;
  payload: Uint8Array;
}

/** A frame whose payload was too large and has been (or is being) skipped. */
export interface OversizeFrame {
  streamId: number;
  type: number;
  flags: number;
  oversize: number;
}

export type DecodedFrame = Frame | OversizeFrame;

export function isOversize(frame: DecodedFrame): frame is OversizeFrame {
  return "oversize" in frame;
}

export function encodeFrame(frame: Frame): Uint8Array {
  const length = frame.payload.length;
  if (length > MAX_MESSAGE_LENGTH) {
    throw new ShimError(
      Code.RESOURCE_EXHAUSTED,
      `message length ${length} exceeds maximum message size of ${MAX_MESSAGE_LENGTH}`,
    );
  }
  const out = new Uint8Array(HEADER_LENGTH + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  view.setUint32(4, frame.streamId >>> 0);
  view.setUint8(8, frame.type);
  view.setUint8(9, frame.flags);
  out.set(frame.payload, HEADER_LENGTH);
  return out;
}

/**
 * Incremental decoder. The payload buffer is allocated once from the declared length and filled in
 * place, so a 4 MiB message arriving in 64 KiB chunks is copied once, not re-concatenated per chunk.
 */
export class FrameDecoder {
  readonly #header = new Uint8Array(HEADER_LENGTH);
  #headerFill = 0;
  #streamId = 0;
  #type = 0;
  #flags = 0;
  #payload: Uint8Array | undefined;
  #payloadFill = 0;
  #discard = 0;

  /** Bytes of a frame currently held (header or payload) or still to be skipped. */
  get pending(): number {
    return this.#headerFill + this.#payloadFill + this.#discard;
  }

  push(chunk: Uint8Array): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#discard > 0) {
        const skip = Math.min(this.#discard, chunk.length - at);
        this.#discard -= skip;
        at += skip;
        continue;
      }
      if (this.#payload === undefined) {
        const take = Math.min(HEADER_LENGTH - this.#headerFill, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill === HEADER_LENGTH) this.#startFrame(frames);
        continue;
      }
      const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - at);
      this.#payload.set(chunk.subarray(at, at + take), this.#payloadFill);
      this.#payloadFill += take;
      at += take;
      if (this.#payloadFill === this.#payload.length) this.#finishFrame(frames);
    }
    return frames;
  }

  #startFrame(frames: DecodedFrame[]): void {
    const view = new DataView(this.#header.buffer);
    const length = view.getUint32(0);
    this.#streamId = view.getUint32(4);
    this.#type = view.getUint8(8);
    this.#flags = view.getUint8(9);
    this.#headerFill = 0;
    if (length > MAX_MESSAGE_LENGTH) {
      // Reported as soon as the header is known so the peer gets its answer without waiting for
      // the skipped bytes; the skipping itself continues across later chunks.
      this.#discard = length;
      frames.push({ streamId: this.#streamId, type: this.#type, flags: this.#flags, oversize: length });
      return;
    }
    this.#payload = new Uint8Array(length);
    this.#payloadFill = 0;
    if (length === 0) this.#finishFrame(frames);
  }

  #finishFrame(frames: DecodedFrame[]): void {
    const payload = this.#payload ?? new Uint8Array(0);
    frames.push({ streamId: this.#streamId, type: this.#type, flags: this.#flags, payload });
    this.#payload = undefined;
    this.#payloadFill = 0;
  }
}
