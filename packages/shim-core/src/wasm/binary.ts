/**
 * Just enough of the WebAssembly binary format to rewrite a core module: LEB128, sections, and a
 * byte reader. No validation beyond what reading needs: the engine validates the result.
 */

export class WasmFormatError extends Error {}

/** A cursor over bytes; every read past the end throws WasmFormatError. */
export class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`past the end of the bytes, at byte ${this.pos}`);
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new WasmFormatError(`LEB128 too long at byte ${this.pos}`);
  }

  /** A signed LEB128 of up to 64 bits, as a bigint (i64.const) or number (i32.const). */
  s64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= 1n << shift;
        return result;
      }
      if (shift > 70n) throw new WasmFormatError(`LEB128 too long at byte ${this.pos}`);
    }
  }

  s32(): number {
    return Number(BigInt.asIntN(32, this.s64()));
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError(`past the end of the bytes, at byte ${this.pos}`);
    this.pos += n;
  }

  take(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.bytes.subarray(start, start + n);
  }

  /** Any LEB128 of up to 64 bits, signed or not, for skipping it: only its low 32 bits are kept. */
  leb(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const b = this.byte();
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    throw new WasmFormatError(`LEB128 too long at byte ${this.pos}`);
  }

  /** A name; `fatal` refuses bytes that are not UTF-8 (import names), as V8's validation does. */
  name(fatal = false): string {
    return new TextDecoder("utf-8", { fatal }).decode(this.take(this.u32()));
  }
}

export function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function s32(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
} as const;

export interface Section {
  id: number;
  /** The payload (without id and size), a view into the module's bytes. */
  payload: Uint8Array;
  /** Offset of the payload in the module. */
  offset: number;
  /** For custom sections, the name. */
  name?: string;
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** True for a core module (version 1); a component has version 0x0d and layer 1. */
export function isCoreModule(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 &&
    MAGIC.every((b, i) => bytes[i] === b) &&
    bytes[4] === 1 &&
    bytes[5] === 0 &&
    bytes[6] === 0 &&
    bytes[7] === 0
  );
}

export function readSections(bytes: Uint8Array): Section[] {
  if (!isCoreModule(bytes)) throw new WasmFormatError("not a core WebAssembly module");
  const r = new Reader(bytes, 8);
  const sections: Section[] = [];
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    const offset = r.pos;
    const payload = r.take(size);
    const section: Section = { id, payload, offset };
    if (id === SECTION.custom) section.name = new Reader(payload).name();
    sections.push(section);
  }
  return sections;
}

/** Reassembles a module from sections (whose payloads may have been replaced, or new). */
export function writeModule(sections: readonly Pick<Section, "id" | "payload">[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [Uint8Array.of(...MAGIC, 1, 0, 0, 0)];
  for (const s of sections) parts.push(Uint8Array.of(s.id, ...u32(s.payload.length)), s.payload);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A vector section's entries as byte ranges, each found by `skipEntry`. */
export function vectorEntries(payload: Uint8Array, skipEntry: (r: Reader) => void): { start: number; end: number }[] {
  const r = new Reader(payload);
  const count = r.u32();
  const entries: { start: number; end: number }[] = [];
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    skipEntry(r);
    entries.push({ start, end: r.pos });
  }
  return entries;
}

/** A vector section from encoded entries. */
export function vector(entries: readonly Uint8Array[]): Uint8Array {
  const head = Uint8Array.from(u32(entries.length));
  const out = new Uint8Array(head.length + entries.reduce((n, e) => n + e.length, 0));
  out.set(head);
  let at = head.length;
  for (const e of entries) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}
