/**
 * Byte-level protobuf mutations, independent of any schema: what a buggy or hostile peer sends
 * when it does not go through a protobuf library at all.
 */
import type { Rng } from "./rng.ts";

export const WireType = { Varint: 0, I64: 1, Len: 2, StartGroup: 3, EndGroup: 4, I32: 5 } as const;

export function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

export function tag(field: number, wireType: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wireType & 7));
}

export function lenField(field: number, payload: Uint8Array): Uint8Array {
  return concat(new Uint8Array([...tag(field, WireType.Len), ...varint(BigInt(payload.length))]), payload);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, truncated, > U+10FFFF. */
export const invalidUtf8: readonly Uint8Array[] = [
  [0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0x61, 0x00, 0xfe, 0x62],
].map((b) => new Uint8Array(b));

/** A field with any of the eight wire types (6 and 7 do not exist), carrying plausible or broken data. */
function randomField(rng: Rng, field: number): Uint8Array {
  const wt = rng.int(8);
  const head = tag(field, wt);
  switch (wt) {
    case WireType.Varint:
      return new Uint8Array([...head, ...varint(BigInt(rng.u32()) * BigInt(rng.u32()))]);
    case WireType.I64:
      return new Uint8Array([...head, ...rng.bytes(8)]);
    case WireType.Len: {
      const body = rng.chance(0.3) ? rng.pick(invalidUtf8) : rng.bytes(rng.size(64));
      return new Uint8Array([...head, ...varint(BigInt(body.length)), ...body]);
    }
    case WireType.I32:
      return new Uint8Array([...head, ...rng.bytes(4)]);
    default:
      return new Uint8Array([...head, ...rng.bytes(rng.int(4))]);
  }
}

/** One mutation of an encoded message, chosen at random; the name says which, for reports. */
export function mutateMessage(rng: Rng, bytes: Uint8Array): { name: string; bytes: Uint8Array } {
  const b = new Uint8Array(bytes);
  switch (rng.int(10)) {
    case 0: {
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length > 0; i++) {
        const at = rng.int(b.length);
        b[at] = b[at]! ^ (1 << rng.int(8));
      }
      return { name: "bit flips", bytes: b };
    }
    case 1:
      return { name: "truncated", bytes: b.subarray(0, rng.int(b.length + 1)) };
    case 2: {
      const at = rng.int(b.length + 1);
      return {
        name: "random bytes inserted",
        bytes: concat(b.subarray(0, at), rng.bytes(1 + rng.size(32)), b.subarray(at)),
      };
    }
    case 3:
      return { name: "unknown field appended", bytes: concat(b, randomField(rng, 16 + rng.int(1 << 20))) };
    case 4:
      return { name: "known field with a random wire type", bytes: concat(b, randomField(rng, 1 + rng.int(12))) };
    case 5: {
      const field = 1 + rng.int(11);
      return { name: `invalid UTF-8 in field ${field}`, bytes: concat(b, lenField(field, rng.pick(invalidUtf8))) };
    }
    case 6: {
      // Length prefixes that run past the end, or are absurdly large.
      const field = 1 + rng.int(11);
      const len = rng.pick([b.length + 1, 0xffffffff, 2 ** 31, 4 << 20]);
      return {
        name: "length past the end",
        bytes: concat(
          b,
          new Uint8Array([...tag(field, WireType.Len), ...varint(BigInt(len)), ...rng.bytes(rng.int(8))]),
        ),
      };
    }
    case 7:
      // An 11-byte varint: longer than any 64-bit value.
      return {
        name: "overlong varint",
        bytes: concat(b, new Uint8Array([...tag(1 + rng.int(11), 0), ...new Array(10).fill(0xff), 0x01])),
      };
    case 8:
      return { name: "field 0", bytes: concat(new Uint8Array([0x00, rng.int(256)]), b) };
    default:
      return { name: "random bytes", bytes: rng.bytes(rng.size(512)) };
  }
}
