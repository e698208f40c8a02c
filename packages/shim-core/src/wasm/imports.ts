// What a core module imports, read from its import section without compiling it (a large module
// takes V8 hundreds of milliseconds to compile, and Create has already compiled it once), and the
// Create-time check that the engine provides all of it.

export type ImportKind = "function" | "table" | "memory" | "global" | "tag";

export interface ModuleImport {
  module: string;
  name: string;
  kind: ImportKind;
}

/** Per import module, the function names an engine provides, or "*" for any import of that module. */
export type ProvidedImports = Readonly<Record<string, readonly string[] | "*">>;

/** A component has layer 1 in the header's version field (bytes 4..7: 0d 00 01 00); a core module has version 1. */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x0d && bytes[5] === 0x00 && bytes[6] === 0x01 && bytes[7] === 0x00;
}

const KINDS: ImportKind[] = ["function", "table", "memory", "global", "tag"];

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new Error("unexpected end of section");
    return this.bytes[this.pos++]!;
  }
  /** An unsigned or signed LEB128, up to 64 bits; only its end matters for skipping. */
  leb(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    throw new Error("LEB128 too long");
  }
  name(): string {
    const len = this.leb();
    if (this.pos + len > this.end) throw new Error("name past the end of the section");
    const text = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return text;
  }
  /** A value or reference type: one byte, or (ref null? heaptype) with a heap type after it. */
  valtype(): void {
    const b = this.byte();
    if (b === 0x63 || b === 0x64) this.leb();
  }
  limits(): void {
    const flags = this.byte();
    this.leb();
    if (flags & 0x01) this.leb();
    if (flags & 0x08) this.leb(); // custom page size
  }
}

/** The imports of a core module, in order; throws on anything it cannot read. */
export function moduleImports(bytes: Uint8Array): ModuleImport[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d || bytes[4] !== 1) {
    throw new Error("not a WebAssembly core module");
  }
  let pos = 8;
  while (pos < bytes.length) {
    const head = new Reader(bytes, pos, bytes.length);
    const id = head.byte();
    const size = head.leb();
    const end = head.pos + size;
    if (end > bytes.length) throw new Error("section past the end of the module");
    if (id === 2) return readImports(new Reader(bytes, head.pos, end));
    pos = end;
  }
  return [];
}

function readImports(r: Reader): ModuleImport[] {
  const out: ModuleImport[] = [];
  for (let n = r.leb(); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    const tag = r.byte();
    const kind = KINDS[tag];
    if (kind === undefined) throw new Error(`unknown import kind 0x${tag.toString(16)}`);
    if (kind === "function") r.leb();
    else if (kind === "table") (r.valtype(), r.limits());
    else if (kind === "memory") r.limits();
    else if (kind === "global") (r.valtype(), r.byte());
    else (r.byte(), r.leb());
    out.push({ module, name, kind });
  }
  return out;
}

/** The imports `provided` does not cover: only functions are provided, by module and name. */
export function missingImports(imports: readonly ModuleImport[], provided: ProvidedImports): ModuleImport[] {
  return imports.filter((imp) => {
    const names = Object.hasOwn(provided, imp.module) ? provided[imp.module] : undefined;
    if (names === "*") return false;
    return imp.kind !== "function" || !names?.includes(imp.name);
  });
}

/**
 * Rejects, naming what is missing, a core module that imports what `engine` cannot provide, so it
 * fails at Create rather than trap at Start. Components are left to the engine's own validation.
 */
export async function checkImports(engine: { name: string; imports?: ProvidedImports }, bytes: Uint8Array<ArrayBuffer>, path: string): Promise<void> {
  if (!engine.imports || isComponent(bytes)) return;
  let imports: ModuleImport[];
  try {
    imports = moduleImports(bytes);
  } catch {
    // A form this reader does not know: ask V8, which has validated the module already.
    imports = WebAssembly.Module.imports(await WebAssembly.compile(bytes)).map((i) => ({ module: i.module, name: i.name, kind: i.kind as ImportKind }));
  }
  const missing = missingImports(imports, engine.imports);
  if (missing.length === 0) return;
  const list = missing.map((m) => `${m.module}.${m.name}${m.kind === "function" ? "" : ` (${m.kind})`}`).join(", ");
  throw new Error(`${path} imports what the ${engine.name} engine does not provide: ${list} (it provides ${Object.keys(engine.imports).join(", ")})`);
}
