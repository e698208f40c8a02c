// The protobuf binary codec of the shims' messages, driven by the field tables in gen/wire
// (tools/gen-wire.ts). It produces and takes the shapes protobuf-es's create(), fromBinary() and
// toBinary() do, and the same bytes, without protobuf-es's descriptors and registry: building those
// for the Task API was about 50 ms of every daemon's boot. Only proto3 as the shims' files use it:
// implicit presence, packed numeric lists, maps; the generator refuses anything else.
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { isZero, readScalar, type Scalar, T, wireType, writeScalar, zero } from "./scalars.ts";

export { T } from "./scalars.ts";

/**
 * How a field repeats: once (no entry), packed or one record per item, or as a map; or once with
 * explicit presence (proto3 `optional`: undefined when unset, written when set, even to zero).
 */
export const L = { PACKED: 1, REPEATED: 2, MAP: 3, OPTIONAL: 4 } as const;

type Item = Scalar | (() => WireMessage);
/** [number, property, item type or message, how it repeats, a map's key type]. */
export type WireField = readonly [number, string, Item, (typeof L)[keyof typeof L]?, Scalar?];

export interface WireMessage<D extends DescMessage = DescMessage> {
  readonly typeName: string;
  /** Built on first use, after every table it refers to exists. */
  readonly fields: () => readonly WireField[];
  /** Never set: carries the protobuf-es descriptor whose shapes this message has, for the types. */
  readonly desc?: D;
}

/** What encode() takes for a table: protobuf-es's init shape of its message. */
export type InitOf<W> = W extends WireMessage<infer D> ? MessageInitShape<D> : never;

export interface WireMethod {
  readonly name: string;
  readonly localName: string;
  readonly kind: string;
  readonly input: WireMessage;
  readonly output: WireMessage;
}

export interface WireService<D extends DescService = DescService> {
  readonly typeName: string;
  readonly methods: readonly WireMethod[];
  readonly desc?: D;
}

export function message<D extends DescMessage>(typeName: string, fields: () => WireField[]): WireMessage<D> {
  let table: readonly WireField[] | undefined;
  return { typeName, fields: () => (table ??= fields()) };
}

export function encode<D extends DescMessage>(m: WireMessage<D>, value: MessageInitShape<D>): Uint8Array {
  const w = new BinaryWriter();
  writeMessage(w, m, value as Record<string, unknown>);
  return w.finish();
}

export function decode<D extends DescMessage>(m: WireMessage<D>, bytes: Uint8Array): MessageShape<D> {
  const r = new BinaryReader(bytes);
  return readMessage(r, m, bytes.length) as MessageShape<D>;
}

/** A message with every field at its default, as protobuf-es's create() makes it. */
export function empty<D extends DescMessage>(m: WireMessage<D>): MessageShape<D> {
  const out: Record<string, unknown> = { $typeName: m.typeName };
  for (const [, name, item, repeat] of m.fields())
    out[name] =
      repeat === L.MAP
        ? {}
        : repeat === L.PACKED || repeat === L.REPEATED
          ? []
          : repeat === L.OPTIONAL || typeof item === "function"
            ? undefined
            : zero(item);
  return out as MessageShape<D>;
}

/** A message from an init shape, every field the init leaves out at its default, as protobuf-es's create(). */
export function create<D extends DescMessage>(m: WireMessage<D>, init?: MessageInitShape<D>): MessageShape<D> {
  const out = empty(m) as Record<string, unknown>;
  const from = (init ?? {}) as Record<string, unknown>;
  for (const [, name, item, repeat] of m.fields()) {
    const v = from[name];
    if (v === undefined) continue;
    if (typeof item !== "function")
      out[name] = repeat === L.PACKED || repeat === L.REPEATED ? [...(v as unknown[])] : v;
    else if (repeat === L.MAP)
      out[name] = Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, create(item(), x as never)]));
    else if (repeat) out[name] = (v as unknown[]).map((x) => create(item(), x as never));
    else out[name] = create(item(), v as never);
  }
  return out as MessageShape<D>;
}

function writeItem(w: BinaryWriter, no: number, item: Item, v: unknown): void {
  if (typeof item === "function") {
    w.tag(no, WireType.LengthDelimited).fork();
    writeMessage(w, item(), (v ?? {}) as Record<string, unknown>);
    w.join();
  } else {
    w.tag(no, wireType(item));
    writeScalar(w, item, v);
  }
}

/** Fields in declaration order, as protobuf-es writes them. */
function writeMessage(w: BinaryWriter, m: WireMessage, value: Record<string, unknown>): void {
  for (const [no, name, item, repeat, key] of m.fields()) {
    const v = value[name];
    if (repeat === L.MAP) {
      for (const [k, entry] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        w.tag(no, WireType.LengthDelimited).fork();
        writeItem(w, 1, key!, mapKey(key!, k));
        writeItem(w, 2, item, entry);
        w.join();
      }
    } else if (repeat === L.PACKED) {
      const list = (v ?? []) as unknown[];
      if (list.length === 0) continue;
      w.tag(no, WireType.LengthDelimited).fork();
      for (const x of list) writeScalar(w, item as Scalar, x);
      w.join();
    } else if (repeat === L.REPEATED) {
      for (const x of (v ?? []) as unknown[]) writeItem(w, no, item, x);
    } else if (typeof item === "function" || repeat === L.OPTIONAL) {
      if (v !== undefined && v !== null) writeItem(w, no, item, v);
    } else if (!isZero(item, v)) {
      writeItem(w, no, item, v);
    }
  }
}

/** Map keys are object keys, so strings: back to the key's type for the wire. */
function mapKey(t: Scalar, k: string): unknown {
  if (t === T.STRING) return k;
  if (t === T.BOOL) return k === "true";
  return typeof zero(t) === "bigint" ? BigInt(k) : Number(k);
}

function readItem(r: BinaryReader, item: Item): unknown {
  if (typeof item !== "function") return readScalar(r, item);
  const length = r.uint32();
  return readMessage(r, item(), r.pos + length);
}

function readMessage(r: BinaryReader, m: WireMessage, end: number, into?: Record<string, unknown>): unknown {
  const out = into ?? (empty(m) as Record<string, unknown>);
  const fields = m.fields();
  while (r.pos < end) {
    const [no, wt] = r.tag();
    const f = fields.find((x) => x[0] === no);
    if (!f) {
      r.skip(wt, no);
      continue;
    }
    const [, name, item, repeat, key] = f;
    if (repeat === L.MAP) {
      const size = r.uint32();
      const stop = r.pos + size;
      let k: unknown = zero(key!);
      let v: unknown = typeof item === "function" ? undefined : zero(item);
      while (r.pos < stop) {
        const [entryNo, entryWt] = r.tag();
        if (entryNo === 1) k = readScalar(r, key!);
        else if (entryNo === 2) v = readItem(r, item);
        else r.skip(entryWt, entryNo);
      }
      if (v === undefined && typeof item === "function") v = empty(item());
      (out[name] as Record<string, unknown>)[String(k)] = v;
    } else if (repeat && repeat !== L.OPTIONAL) {
      const list = out[name] as unknown[];
      if (
        wt === WireType.LengthDelimited &&
        typeof item !== "function" &&
        wireType(item) !== WireType.LengthDelimited
      ) {
        const size = r.uint32();
        const stop = r.pos + size;
        while (r.pos < stop) list.push(readScalar(r, item));
      } else {
        list.push(readItem(r, item));
      }
    } else if (typeof item === "function") {
      // A message field seen twice is merged, as protobuf says.
      const length = r.uint32();
      out[name] = readMessage(r, item(), r.pos + length, out[name] as Record<string, unknown> | undefined);
    } else {
      out[name] = readScalar(r, item);
    }
  }
  return out;
}
