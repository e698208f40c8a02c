/**
 * Makes a fresh instance cheap: a core module that defines its memory is rewritten to import it,
 * and its active data segments become a memory image the host copies in. A memory can then be
 * handed from a finished instance to the next one, reset to the image with one copy into pages
 * that are already mapped, instead of V8 mapping and faulting in new pages and applying thousands
 * of data segments for every instance (what wasmtime's memory images and pooling allocator do).
 */
export const IMAGE_IMPORT_MODULE = "wasm-shim";
export const IMAGE_IMPORT_NAME = "memory";
const PAGE = 65536;

export interface MemoryImage {
  initialPages: number;
  maximumPages: number | undefined;
  /** The whole initial memory: what every fresh instance starts with. */
  pristine: Uint8Array;
  /** The non-zero stretches of `pristine`, all a new (zeroed) memory needs copied in. */
  runs: { start: number; end: number }[];
}

export interface Rewritten {
  module: Uint8Array<ArrayBuffer>;
  image: MemoryImage;
}

interface Section {
  id: number;
  body: Uint8Array;
}

class Reader {
  pos: number;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new RangeError("unexpected end of module");
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      if (shift > 28) throw new RangeError("bad LEB128");
    }
  }
  i32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) throw new RangeError("unexpected end of module");
    return this.bytes.subarray(this.pos, (this.pos += n));
  }
}

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const name = (s: string) => [...u32(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: Uint8Array) => concat([[id, ...u32(body.length)], body]);

function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    out.push({ id, body: r.take(r.u32()) });
  }
  return out;
}

/** Whether the import section imports a memory (kind 2); such a module is left alone. */
function importsMemory(body: Uint8Array): boolean {
  const r = new Reader(body);
  for (let n = r.u32(); n > 0; n--) {
    r.take(r.u32());
    r.take(r.u32());
    const kind = r.byte();
    if (kind === 2) return true;
    if (kind === 0) r.u32();
    else if (kind === 1) {
      r.byte();
      const flags = r.byte();
      r.u32();
      if (flags & 1) r.u32();
    } else if (kind === 3) r.take(2);
    else if (kind === 4) r.take(2);
    else throw new RangeError(`unknown import kind ${kind}`);
  }
  return false;
}

interface Segment {
  offset: number;
  bytes: Uint8Array;
}

/**
 * The rewritten module and its image, or undefined when the module does not fit the simple case
 * (no memory, several, shared or 64-bit memories, an imported one, or a segment whose offset is
 * not a constant): those modules are instantiated as they are.
 */
export function rewriteMemory(bytes: Uint8Array, validate: (b: Uint8Array<ArrayBuffer>) => boolean = (b) => WebAssembly.validate(b)): Rewritten | undefined {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[4] !== 1) return undefined;
  const all = sections(bytes);
  const memory = all.filter((s) => s.id === 5);
  const imports = all.find((s) => s.id === 2);
  if (memory.length !== 1 || (imports && importsMemory(imports.body))) return undefined;
  const mr = new Reader(memory[0]!.body);
  if (mr.u32() !== 1) return undefined;
  const limitsStart = mr.pos;
  const flags = mr.byte();
  if (flags & ~1) return undefined;
  const initialPages = mr.u32();
  const maximumPages = flags & 1 ? mr.u32() : undefined;
  const limits = memory[0]!.body.subarray(limitsStart, mr.pos);

  const active: Segment[] = [];
  let passive = 0;
  const dataOut: (Uint8Array | number[])[] = [];
  const data = all.find((s) => s.id === 11);
  if (data) {
    const r = new Reader(data.body);
    const n = r.u32();
    dataOut.push(u32(n));
    for (let i = 0; i < n; i++) {
      const kind = r.u32();
      if (kind === 1) {
        passive++;
        const len = r.u32();
        dataOut.push([1, ...u32(len)], r.take(len));
        continue;
      }
      if (kind === 2 && r.u32() !== 0) return undefined;
      if (kind !== 0 && kind !== 2) return undefined;
      if (r.byte() !== 0x41) return undefined; // i32.const
      const offset = r.i32() >>> 0;
      if (r.byte() !== 0x0b) return undefined; // end
      const len = r.u32();
      const seg = r.take(len);
      if (offset + len > initialPages * PAGE) return undefined; // would fail to instantiate; keep that
      active.push({ offset, bytes: seg });
      dataOut.push([1, ...u32(len)], seg);
    }
  }

  const memoryImport = [...name(IMAGE_IMPORT_MODULE), ...name(IMAGE_IMPORT_NAME), 0x02, ...limits];
  let importBody: Uint8Array;
  if (imports) {
    const r = new Reader(imports.body);
    const count = r.u32();
    importBody = concat([u32(count + 1), imports.body.subarray(r.pos), memoryImport]);
  } else {
    importBody = concat([u32(1), memoryImport]);
  }
  const build = (keepData: boolean) => {
    const out: Uint8Array[] = [bytes.subarray(0, 8)];
    let importWritten = false;
    for (const s of all) {
      // The import section comes after the type section and before everything else that is not custom.
      if (!importWritten && s.id !== 0 && s.id !== 1) {
        out.push(section(2, importBody));
        importWritten = true;
        if (s.id === 2) continue;
      }
      if (s.id === 5) continue;
      if (s.id === 11 || s.id === 12) {
        if (!keepData) continue;
        out.push(s.id === 11 ? section(11, concat(dataOut)) : section(12, s.body));
        continue;
      }
      out.push(section(s.id, s.body));
    }
    if (!importWritten) out.push(section(2, importBody));
    return concat(out);
  };
  // Without passive segments the data section can usually go entirely (V8 keeps per-instance
  // state even for passive segments); code that still names a segment needs it kept, passive.
  let module = passive === 0 ? build(false) : undefined;
  if (!module || !validate(module)) module = build(true);

  const pristine = new Uint8Array(new SharedArrayBuffer(initialPages * PAGE));
  for (const seg of active) pristine.set(seg.bytes, seg.offset);
  return { module, image: { initialPages, maximumPages, pristine, runs: runsOf(active) } };
}

/** The stretches segments cover, merged across small gaps so that a fresh memory needs few copies. */
function runsOf(segments: Segment[], gap = 4096): { start: number; end: number }[] {
  const spans = segments.filter((s) => s.bytes.length > 0).map((s) => ({ start: s.offset, end: s.offset + s.bytes.length }));
  spans.sort((a, b) => a.start - b.start);
  const runs: { start: number; end: number }[] = [];
  for (const s of spans) {
    const last = runs.at(-1);
    if (last && s.start <= last.end + gap) last.end = Math.max(last.end, s.end);
    else runs.push({ ...s });
  }
  return runs;
}
