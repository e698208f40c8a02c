// protobuf's scalar types on the wire, for the codec (codec.ts): defaults, wire types, reading and
// writing, as protobuf-es has them for proto3.
import { type BinaryReader, type BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** protobuf's scalar types, by descriptor.proto's numbers. */
export const T = {
  DOUBLE: 1,
  FLOAT: 2,
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  FIXED64: 6,
  FIXED32: 7,
  BOOL: 8,
  STRING: 9,
  BYTES: 12,
  UINT32: 13,
  SFIXED32: 15,
  SFIXED64: 16,
  SINT32: 17,
  SINT64: 18,
} as const;
export type Scalar = (typeof T)[keyof typeof T];

export function zero(t: Scalar): unknown {
  switch (t) {
    case T.STRING:
      return "";
    case T.BOOL:
      return false;
    case T.BYTES:
      return new Uint8Array(0);
    case T.INT64:
    case T.UINT64:
    case T.FIXED64:
    case T.SFIXED64:
    case T.SINT64:
      return 0n;
    default:
      return 0;
  }
}

export function isZero(t: Scalar, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  switch (t) {
    case T.STRING:
      return v === "";
    case T.BOOL:
      return v === false;
    case T.BYTES:
      return (v as Uint8Array).length === 0;
    default:
      // 64-bit values come as bigint, number or decimal string, as protobuf-es accepts them.
      return typeof v === "bigint" ? v === 0n : typeof v === "string" ? BigInt(v) === 0n : v === 0;
  }
}

export function wireType(t: Scalar): WireType {
  switch (t) {
    case T.STRING:
    case T.BYTES:
      return WireType.LengthDelimited;
    case T.DOUBLE:
    case T.FIXED64:
    case T.SFIXED64:
      return WireType.Bit64;
    case T.FLOAT:
    case T.FIXED32:
    case T.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

export function writeScalar(w: BinaryWriter, t: Scalar, v: unknown): void {
  const n = v as number;
  const big = v as bigint | string | number;
  switch (t) {
    case T.DOUBLE:
      return void w.double(n);
    case T.FLOAT:
      return void w.float(n);
    case T.INT64:
      return void w.int64(big);
    case T.UINT64:
      return void w.uint64(big);
    case T.INT32:
      return void w.int32(n);
    case T.FIXED64:
      return void w.fixed64(big);
    case T.FIXED32:
      return void w.fixed32(n);
    case T.BOOL:
      return void w.bool(v as boolean);
    case T.STRING:
      return void w.string(v as string);
    case T.BYTES:
      return void w.bytes(v as Uint8Array);
    case T.UINT32:
      return void w.uint32(n);
    case T.SFIXED32:
      return void w.sfixed32(n);
    case T.SFIXED64:
      return void w.sfixed64(big);
    case T.SINT32:
      return void w.sint32(n);
    case T.SINT64:
      return void w.sint64(big);
  }
}

export function readScalar(r: BinaryReader, t: Scalar): unknown {
  switch (t) {
    case T.DOUBLE:
      return r.double();
    case T.FLOAT:
      return r.float();
    case T.INT64:
      return BigInt(r.int64());
    case T.UINT64:
      return BigInt(r.uint64());
    case T.INT32:
      return r.int32();
    case T.FIXED64:
      return BigInt(r.fixed64());
    case T.FIXED32:
      return r.fixed32();
    case T.BOOL:
      return r.bool();
    case T.STRING:
      // Strict, as protobuf-es reads proto3 strings: invalid UTF-8 is a bad request, not U+FFFD.
      return r.string(true);
    case T.BYTES:
      return r.bytes();
    case T.UINT32:
      return r.uint32();
    case T.SFIXED32:
      return r.sfixed32();
    case T.SFIXED64:
      return BigInt(r.sfixed64());
    case T.SINT32:
      return r.sint32();
    case T.SINT64:
      return BigInt(r.sint64());
  }
}
