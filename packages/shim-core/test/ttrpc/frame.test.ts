import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, notFound, toStatus } from "../../src/errors.ts";
import { ResponseSchema } from "../../src/gen/ttrpc/ttrpc_pb.ts";
import { FrameDecoder, MAX_MESSAGE_LENGTH, MessageType, encodeFrame } from "../../src/ttrpc/frame.ts";
import type { DecodedFrame, Frame } from "../../src/ttrpc/frame.ts";
import { hex } from "./helpers.ts";

const frame = (streamId: number, type: number, payload: number[] | Uint8Array, flags = 0): Frame => ({
  streamId,
  type,
  flags,
  payload: Uint8Array.from(payload),
});

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function header(length: number, streamId: number, type: number, flags = 0): Uint8Array {
  const out = new Uint8Array(10);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  view.setUint32(4, streamId);
  out[8] = type;
  out[9] = flags;
  return out;
}

describe("encodeFrame golden bytes", () => {
  it("OK response with empty payload on stream 17 is a bare header", () => {
    const empty = toBinary(ResponseSchema, create(ResponseSchema, { payload: new Uint8Array(0) }));
    expect(empty.length).toBe(0);
    expect(hex(encodeFrame(frame(17, MessageType.Response, empty)))).toBe("00 00 00 00 00 00 00 11 02 00");
  });

  it("Create request header of 524 bytes on stream 1", () => {
    const bytes = encodeFrame(frame(1, MessageType.Request, new Uint8Array(524)));
    expect(hex(bytes.subarray(0, 10))).toBe("00 00 02 0c 00 00 00 01 01 00");
    expect(bytes.length).toBe(534);
  });

  it("Kill error status bytes from the protocol notes", () => {
    const status = toStatus(notFound("process already finished"));
    const response = toBinary(ResponseSchema, create(ResponseSchema, { status }));
    const msg = Buffer.from("process already finished: not found")
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ");
    expect(hex(response)).toBe(`0a 27 08 05 12 23 ${msg}`);
  });

  it("stream ids and flags use the full u8/u32 range", () => {
    expect(hex(encodeFrame(frame(0xfffffffd, 3, [0xaa], 0x05)))).toBe("00 00 00 01 ff ff ff fd 03 05 aa");
  });

  it("accepts exactly the maximum and refuses one byte more", () => {
    expect(encodeFrame(frame(1, 1, new Uint8Array(MAX_MESSAGE_LENGTH))).length).toBe(MAX_MESSAGE_LENGTH + 10);
    expect(() => encodeFrame(frame(1, 1, new Uint8Array(MAX_MESSAGE_LENGTH + 1)))).toThrow(
      expect.objectContaining({ code: Code.RESOURCE_EXHAUSTED }),
    );
  });
});

describe("FrameDecoder", () => {
  const a = frame(1, MessageType.Request, [1, 2, 3, 4, 5]);
  const b = frame(3, MessageType.Response, [9, 8, 7], 0);
  const both = Buffer.concat([encodeFrame(a), encodeFrame(b)]);

  it("decodes at every single split point of a two-frame buffer", () => {
    for (let cut = 0; cut <= both.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(both.subarray(0, cut)), ...d.push(both.subarray(cut))];
      expect(got, `cut at ${cut}`).toEqual([a, b]);
      expect(d.pending).toBe(0);
    }
  });

  it("decodes at every pair of split points (three chunks)", () => {
    for (let i = 0; i <= both.length; i++) {
      for (let j = i; j <= both.length; j++) {
        const d = new FrameDecoder();
        const got = [both.subarray(0, i), both.subarray(i, j), both.subarray(j)].flatMap((c) => d.push(c));
        expect(got, `cuts at ${i},${j}`).toEqual([a, b]);
      }
    }
  });

  it("decodes one byte at a time and many frames per chunk", () => {
    const frames = Array.from({ length: 50 }, (_, i) => frame(2 * i + 1, 1 + (i % 3), new Uint8Array(i % 7).fill(i)));
    const all = Buffer.concat(frames.map(encodeFrame));
    const d1 = new FrameDecoder();
    expect(d1.push(all)).toEqual(frames);
    const d2 = new FrameDecoder();
    const got: DecodedFrame[] = [];
    for (const byte of all) got.push(...d2.push(Uint8Array.of(byte)));
    expect(got).toEqual(frames);
  });

  it("emits a zero-length frame that ends exactly at a chunk boundary", () => {
    const d = new FrameDecoder();
    expect(d.push(encodeFrame(frame(17, 2, [])))).toEqual([frame(17, 2, [])]);
    expect(d.push(new Uint8Array(0))).toEqual([]);
  });

  it("round-trips random frames through random chunkings", () => {
    const rand = rng(42);
    for (let round = 0; round < 30; round++) {
      const frames = Array.from({ length: 1 + Math.floor(rand() * 20) }, () =>
        frame(
          Math.floor(rand() * 2 ** 32),
          Math.floor(rand() * 256),
          Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)),
          Math.floor(rand() * 256),
        ),
      );
      const all = Buffer.concat(frames.map(encodeFrame));
      const d = new FrameDecoder();
      const got: DecodedFrame[] = [];
      for (let at = 0; at < all.length; ) {
        const n = Math.floor(rand() * 64);
        got.push(...d.push(all.subarray(at, at + n)));
        at += n;
      }
      expect(got).toEqual(frames);
    }
  });

  it("skips an oversize frame split across chunks, reports it once, then decodes the next frame", () => {
    const length = MAX_MESSAGE_LENGTH + 1;
    const next = frame(7, MessageType.Request, [0x0a, 0x01, 0x78]);
    const stream = Buffer.concat([
      header(length, 5, MessageType.Request),
      new Uint8Array(length).fill(0xee),
      encodeFrame(next),
    ]);
    for (const chunkSize of [3, 4096, 65536, 1_000_003, stream.length]) {
      const d = new FrameDecoder();
      const got: DecodedFrame[] = [];
      for (let at = 0; at < stream.length; at += chunkSize) got.push(...d.push(stream.subarray(at, at + chunkSize)));
      expect(got, `chunk ${chunkSize}`).toEqual([{ streamId: 5, type: 1, flags: 0, oversize: length }, next]);
      expect(d.pending).toBe(0);
    }
  });

  it("reports the oversize frame as soon as its header is complete", () => {
    const d = new FrameDecoder();
    expect(d.push(header(0xffffffff, 9, 1).subarray(0, 7))).toEqual([]);
    expect(d.push(header(0xffffffff, 9, 1).subarray(7))).toEqual([
      { streamId: 9, type: 1, flags: 0, oversize: 0xffffffff },
    ]);
    expect(d.push(new Uint8Array(1000))).toEqual([]);
    expect(d.pending).toBe(0xffffffff - 1000);
  });

  it("never throws or buffers more than the limit on random garbage", () => {
    const rand = rng(7);
    for (let round = 0; round < 200; round++) {
      const d = new FrameDecoder();
      for (let c = 0; c < 20; c++) {
        const chunk = Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
        for (const f of d.push(chunk)) {
          if ("payload" in f) expect(f.payload.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
          else expect(f.oversize).toBeGreaterThan(MAX_MESSAGE_LENGTH);
        }
      }
    }
  });
});
