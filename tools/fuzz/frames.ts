/**
 * Whole ttrpc frames gone wrong: garbage, headers that lie about length, even or reused stream ids,
 * unknown types and flags, Request envelopes with broken fields. Each goes on a fresh connection,
 * since a frame that lies about its length leaves the connection out of step for good.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { RequestSchema } from "@wasm-shims/shim-core/src/gen/ttrpc/ttrpc_pb.ts";
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, encodeFrame } from "@wasm-shims/shim-core/src/ttrpc/frame.ts";
import { concat, invalidUtf8, lenField, mutateMessage } from "./protowire.ts";
import type { Rng } from "./rng.ts";

export interface RawSession {
  name: string;
  /** Chunks written one after another (split to exercise partial reads). */
  chunks: Uint8Array[];
}

const TASK = "containerd.task.v2.Task";

export function requestEnvelope(service: string, method: string, payload: Uint8Array): Uint8Array {
  return toBinary(RequestSchema, create(RequestSchema, { service, method, payload }));
}

function header(length: number, streamId: number, type: number, flags: number): Uint8Array {
  const h = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(h.buffer);
  view.setUint32(0, length >>> 0);
  view.setUint32(4, streamId >>> 0);
  view.setUint8(8, type & 0xff);
  view.setUint8(9, flags & 0xff);
  return h;
}

/** A frame for `payload`, cut to ttrpc's limit: encodeFrame refuses larger ones, as a sender must. */
export function frame(streamId: number, type: number, flags: number, payload: Uint8Array): Uint8Array {
  return encodeFrame({ streamId, type, flags, payload: payload.subarray(0, MAX_MESSAGE_LENGTH) });
}

/** Splits bytes at random points, as a slow or fragmenting peer would deliver them. */
function split(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  if (!rng.chance(0.3) || bytes.length < 2) return [bytes];
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + rng.int(Math.min(bytes.length - at, 64));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** A broken Request envelope: the ttrpc-level fields, not the Task request inside. */
function brokenEnvelope(rng: Rng, method: string, payload: Uint8Array): { name: string; bytes: Uint8Array } {
  switch (rng.int(6)) {
    case 0:
      return {
        name: "service is invalid UTF-8",
        bytes: concat(
          lenField(1, rng.pick(invalidUtf8)),
          lenField(2, new TextEncoder().encode(method)),
          lenField(3, payload),
        ),
      };
    case 1:
      return {
        name: "unknown service",
        bytes: requestEnvelope(rng.pick(["", "containerd.task.v9.Task", "x".repeat(10000)]), method, payload),
      };
    case 2:
      return {
        name: "unknown method",
        bytes: requestEnvelope(
          TASK,
          rng.pick(["", "create", "Frobnicate", "__proto__", "constructor", "hasOwnProperty"]),
          payload,
        ),
      };
    case 3: {
      const metadata = Array.from({ length: rng.pick([1, 1000, 10000]) }, (_, i) => ({
        key: `k${i % 7}`,
        value: "v".repeat(rng.int(64)),
      }));
      return {
        name: "many metadata entries",
        bytes: toBinary(
          RequestSchema,
          create(RequestSchema, {
            service: TASK,
            method,
            payload,
            metadata,
            timeoutNano: BigInt.asIntN(64, BigInt(rng.u32()) << 32n),
          }),
        ),
      };
    }
    default:
      return { name: "mutated envelope", bytes: mutateMessage(rng, requestEnvelope(TASK, method, payload)).bytes };
  }
}

export function randomSession(rng: Rng, method: string, request: Uint8Array): RawSession {
  const payload = request.subarray(0, MAX_MESSAGE_LENGTH - 64 * 1024);
  const good = requestEnvelope(TASK, method, payload);
  const id = 1 + 2 * rng.int(1000);
  switch (rng.int(9)) {
    case 0:
      return { name: "random bytes", chunks: split(rng, rng.bytes(1 + rng.size(4096))) };
    case 1: {
      // Claims fewer or more bytes than follow: the rest is read as the next header.
      const length = rng.pick([0, 1, good.length - 1, good.length + 1, good.length + 100]);
      return {
        name: "length field lies",
        chunks: split(rng, concat(header(Math.max(0, length), id, MessageType.Request, 0), good)),
      };
    }
    case 2:
      return {
        name: "oversize length",
        chunks: split(
          rng,
          concat(
            header(rng.pick([MAX_MESSAGE_LENGTH + 1, 0xffffffff]), id, MessageType.Request, 0),
            rng.bytes(rng.size(1024)),
          ),
        ),
      };
    case 3:
      return {
        name: "even, zero or maximal stream id",
        chunks: [frame(rng.pick([0, 2, 0xfffffffe, 0xffffffff]), MessageType.Request, 0, good)],
      };
    case 4:
      return { name: "unknown type or flags", chunks: [frame(id, rng.pick([0, 2, 3, 4, 255]), rng.int(256), good)] };
    case 5: {
      // The same stream id twice at once: both get answers, neither crashes the server.
      const f = frame(id, MessageType.Request, rng.int(256), good);
      return { name: "duplicate stream id", chunks: [concat(f, f)] };
    }
    case 6:
      return {
        name: "truncated frame",
        chunks: [frame(id, MessageType.Request, 0, good).subarray(0, rng.int(HEADER_LENGTH + good.length))],
      };
    default: {
      const env = brokenEnvelope(rng, method, payload);
      return { name: env.name, chunks: split(rng, frame(id, MessageType.Request, 0, env.bytes)) };
    }
  }
}
