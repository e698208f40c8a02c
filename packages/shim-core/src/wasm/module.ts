import { Reader, SECTION, WasmFormatError, readSections, vectorEntries, type Section } from "./binary.ts";

/** An active data segment placed at a constant address in memory 0. */
export interface DataSegment {
  address: number;
  /** The segment's bytes: a view into the module. */
  bytes: Uint8Array;
  /** Where those bytes lie in the module. */
  offset: number;
}

/**
 * The parts of a core module the cwd patch reads: function types and bodies, the first global's
 * initial value, and where the data segments put their bytes.
 */
export interface ModuleLayout {
  sections: Section[];
  importedFunctions: number;
  /** Type index of each defined function. */
  functionTypes: number[];
  /** Each defined function's body (locals and code, without the size prefix). */
  bodies: Uint8Array[];
  data: DataSegment[];
  /** True when some segment is passive or not at a constant address (a threads or PIC build). */
  otherData: boolean;
  /** The globals, as far as their types and a constant i32 initial value go. */
  globals: { type: number; mutable: boolean; i32?: number }[];
  /** Function types by index as "params->results" in value-type bytes (e.g. "7f7f7f->7f"); "?" for other types. */
  types: string[];
  /** Initial pages of a memory the module defines itself (undefined when it imports its memory). */
  memoryPages?: number;
}

export function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x42) r.s64();
    else if (op === 0x23 || op === 0xd2) r.u32();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xd0) r.byte();
    else if (op === 0xfd) r.skip(r.u32() === 12 ? 16 : 0);
    else if (op < 0x6a || op > 0x7e)
      throw new WasmFormatError(`unsupported constant expression opcode 0x${op.toString(16)}`);
  }
}

/** An `i32.const N end` expression's N, else undefined (the reader moves past the expression either way). */
function constI32(r: Reader): number | undefined {
  const start = r.pos;
  if (r.byte() === 0x41) {
    const value = r.s32();
    if (r.byte() === 0x0b) return value;
  }
  r.pos = start;
  skipConstExpr(r);
  return undefined;
}

function importedFunctionCount(section: Section | undefined): number {
  if (!section) return 0;
  let functions = 0;
  const r = new Reader(section.payload);
  for (let n = r.u32(); n > 0; n--) {
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 0) {
      functions++;
      r.u32();
    } else if (kind === 1) {
      r.byte();
      const flags = r.byte();
      r.u32();
      if (flags & 1) r.u32();
    } else if (kind === 2) {
      const flags = r.byte();
      r.u32();
      if (flags & 1) r.u32();
    } else if (kind === 3) r.skip(2);
    else if (kind === 4) {
      r.byte();
      r.u32();
    } else throw new WasmFormatError(`unknown import kind ${kind}`);
  }
  return functions;
}

export function readLayout(bytes: Uint8Array, sections: Section[] = readSections(bytes)): ModuleLayout {
  const find = (id: number) => sections.find((s) => s.id === id);
  const layout: ModuleLayout = {
    sections,
    importedFunctions: importedFunctionCount(find(SECTION.import)),
    functionTypes: [],
    bodies: [],
    data: [],
    otherData: false,
    globals: [],
    types: [],
  };
  const types = find(SECTION.type);
  if (types) {
    const r = new Reader(types.payload);
    for (let n = r.u32(); n > 0; n--) {
      if (r.byte() !== 0x60) {
        layout.types.push("?");
        break; // GC and recursive types: not a wasm-ld C/Rust module, nothing later is needed
      }
      const hex = (k: number) => [...r.take(k)].map((b) => b.toString(16)).join("");
      const params = hex(r.u32());
      layout.types.push(`${params}->${hex(r.u32())}`);
    }
  }
  const memory = find(SECTION.memory);
  if (memory) {
    const r = new Reader(memory.payload);
    if (r.u32() > 0) {
      r.byte();
      layout.memoryPages = r.u32();
    }
  }
  const functions = find(SECTION.function);
  if (functions) {
    const r = new Reader(functions.payload);
    for (let n = r.u32(); n > 0; n--) layout.functionTypes.push(r.u32());
  }
  const code = find(SECTION.code);
  if (code) {
    for (const e of vectorEntries(code.payload, (r) => r.skip(r.u32()))) {
      const r = new Reader(code.payload, e.start, e.end);
      const size = r.u32();
      layout.bodies.push(r.take(size));
    }
  }
  const globals = find(SECTION.global);
  if (globals) {
    const r = new Reader(globals.payload);
    for (let n = r.u32(); n > 0; n--) {
      const type = r.byte();
      if (type === 0x63 || type === 0x64) r.s64();
      const mutable = r.byte() === 1;
      const i32 = constI32(r);
      layout.globals.push(i32 === undefined ? { type, mutable } : { type, mutable, i32 });
    }
  }
  const data = find(SECTION.data);
  if (data) {
    const r = new Reader(data.payload);
    for (let n = r.u32(); n > 0; n--) {
      const flags = r.u32();
      if (flags === 1) {
        layout.otherData = true;
        r.skip(r.u32());
        continue;
      }
      if (flags === 2 && r.u32() !== 0) layout.otherData = true;
      const address = constI32(r);
      const size = r.u32();
      const offset = data.offset + r.pos;
      const segment = r.take(size);
      if (address === undefined) layout.otherData = true;
      else layout.data.push({ address: address >>> 0, bytes: segment, offset });
    }
  }
  return layout;
}

/** The initial bytes at `address` in memory, if a data segment puts them there. */
export function initialBytes(layout: ModuleLayout, address: number, length: number): Uint8Array | undefined {
  const seg = layout.data.find((d) => address >= d.address && address + length <= d.address + d.bytes.length);
  return seg?.bytes.subarray(address - seg.address, address - seg.address + length);
}

/** A NUL-terminated string's initial contents at `address` (at most `max` bytes), if a data segment holds it. */
export function initialString(layout: ModuleLayout, address: number, max = 4096): string | undefined {
  const seg = layout.data.find((d) => address >= d.address && address < d.address + d.bytes.length);
  if (!seg) return undefined;
  const from = seg.bytes.subarray(address - seg.address);
  const nul = from.indexOf(0);
  if (nul < 0 || nul > max) return undefined;
  return new TextDecoder().decode(from.subarray(0, nul));
}
