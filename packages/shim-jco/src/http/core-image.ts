import {
  encodeU32,
  isCoreModule,
  moduleImports,
  Reader,
  readSections,
  SECTION,
  writeModule,
  type Section,
} from "@wasm-shims/shim-core";

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

function concat(parts: (Uint8Array | number[])[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const name = (s: string) => [...encodeU32(s.length), ...new TextEncoder().encode(s)];

interface Segment {
  offset: number;
  bytes: Uint8Array;
}

/**
 * The rewritten module and its image, or undefined when the module does not fit the simple case
 * (no memory, several, shared or 64-bit memories, an imported one, or a segment whose offset is
 * not a constant): those modules are instantiated as they are.
 */
export function rewriteMemory(
  bytes: Uint8Array,
  validate: (b: Uint8Array<ArrayBuffer>) => boolean = (b) => WebAssembly.validate(b),
): Rewritten | undefined {
  if (!isCoreModule(bytes)) return undefined;
  const all = readSections(bytes);
  const memory = all.filter((s) => s.id === SECTION.memory);
  const imports = all.find((s) => s.id === SECTION.import);
  if (memory.length !== 1 || (imports && moduleImports(bytes).some((i) => i.kind === "memory"))) return undefined;
  const mr = new Reader(memory[0]!.payload);
  if (mr.u32() !== 1) return undefined;
  const limitsStart = mr.pos;
  const flags = mr.byte();
  if (flags & ~1) return undefined;
  const initialPages = mr.u32();
  const maximumPages = flags & 1 ? mr.u32() : undefined;
  const limits = memory[0]!.payload.subarray(limitsStart, mr.pos);

  const active: Segment[] = [];
  let passive = 0;
  const dataOut: (Uint8Array | number[])[] = [];
  const data = all.find((s) => s.id === SECTION.data);
  if (data) {
    const r = new Reader(data.payload);
    const n = r.u32();
    dataOut.push(encodeU32(n));
    for (let i = 0; i < n; i++) {
      const kind = r.u32();
      if (kind === 1) {
        passive++;
        const len = r.u32();
        dataOut.push([1, ...encodeU32(len)], r.take(len));
        continue;
      }
      if (kind === 2 && r.u32() !== 0) return undefined;
      if (kind !== 0 && kind !== 2) return undefined;
      if (r.byte() !== 0x41) return undefined; // i32.const
      const offset = r.s32() >>> 0;
      if (r.byte() !== 0x0b) return undefined; // end
      const len = r.u32();
      const seg = r.take(len);
      if (offset + len > initialPages * PAGE) return undefined; // would fail to instantiate; keep that
      active.push({ offset, bytes: seg });
      dataOut.push([1, ...encodeU32(len)], seg);
    }
  }

  const memoryImport = [...name(IMAGE_IMPORT_MODULE), ...name(IMAGE_IMPORT_NAME), 0x02, ...limits];
  let importBody: Uint8Array;
  if (imports) {
    const r = new Reader(imports.payload);
    const count = r.u32();
    importBody = concat([encodeU32(count + 1), imports.payload.subarray(r.pos), memoryImport]);
  } else {
    importBody = concat([encodeU32(1), memoryImport]);
  }
  const build = (keepData: boolean) => {
    const out: Pick<Section, "id" | "payload">[] = [];
    const importSection = { id: SECTION.import, payload: importBody };
    for (const s of all) {
      // The import section comes after the type section and before everything else that is not custom.
      if (!out.includes(importSection) && s.id !== SECTION.custom && s.id !== SECTION.type) {
        out.push(importSection);
        if (s.id === SECTION.import) continue;
      }
      if (s.id === SECTION.memory) continue;
      if (s.id === SECTION.data || s.id === SECTION.dataCount) {
        if (keepData) out.push(s.id === SECTION.data ? { id: s.id, payload: concat(dataOut) } : s);
        continue;
      }
      out.push(s);
    }
    if (!out.includes(importSection)) out.push(importSection);
    return writeModule(out);
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
  const spans = segments
    .filter((s) => s.bytes.length > 0)
    .map((s) => ({ start: s.offset, end: s.offset + s.bytes.length }));
  spans.sort((a, b) => a.start - b.start);
  const runs: { start: number; end: number }[] = [];
  for (const s of spans) {
    const last = runs.at(-1);
    if (last && s.start <= last.end + gap) last.end = Math.max(last.end, s.end);
    else runs.push({ ...s });
  }
  return runs;
}
