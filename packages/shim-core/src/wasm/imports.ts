// What a core module imports, read from its import section without compiling it (a large module
// takes V8 hundreds of milliseconds to compile, and Create has already compiled it once), and the
// Create-time check that the engine provides all of it.

import { Reader, SECTION, WasmFormatError, readSections } from "./binary.ts";

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

/** The imports of a core module, in order; throws on anything it cannot read. */
export function moduleImports(bytes: Uint8Array): ModuleImport[] {
  const section = readSections(bytes).find((s) => s.id === SECTION.import);
  return section ? readImports(new Reader(section.payload)) : [];
}

function readImports(r: Reader): ModuleImport[] {
  const out: ModuleImport[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const module = r.name(true);
    const name = r.name(true);
    const tag = r.byte();
    const kind = KINDS[tag];
    if (kind === undefined) throw new WasmFormatError(`unknown import kind 0x${tag.toString(16)}`);
    if (kind === "function") r.u32();
    else if (kind === "table") skipValType(r), skipLimits(r);
    else if (kind === "memory") skipLimits(r);
    else if (kind === "global") skipValType(r), r.byte();
    else r.byte(), r.u32();
    out.push({ module, name, kind });
  }
  return out;
}

/** A value or reference type: one byte, or (ref null? heaptype) with a heap type after it. */
function skipValType(r: Reader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.leb();
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.leb();
  if (flags & 0x01) r.leb();
  if (flags & 0x08) r.leb(); // custom page size
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
export async function checkImports(
  engine: { name: string; imports?: ProvidedImports },
  bytes: Uint8Array<ArrayBuffer>,
  path: string,
): Promise<void> {
  if (!engine.imports || isComponent(bytes)) return;
  let imports: ModuleImport[];
  try {
    imports = moduleImports(bytes);
  } catch {
    // A form this reader does not know: ask V8, which has validated the module already.
    imports = WebAssembly.Module.imports(await WebAssembly.compile(bytes)).map((i) => ({
      module: i.module,
      name: i.name,
      kind: i.kind as ImportKind,
    }));
  }
  const missing = missingImports(imports, engine.imports);
  if (missing.length === 0) return;
  const list = missing.map((m) => `${m.module}.${m.name}${m.kind === "function" ? "" : ` (${m.kind})`}`).join(", ");
  throw new Error(
    `${path} imports what the ${engine.name} engine does not provide: ${list} (it provides ${Object.keys(engine.imports).join(", ")})`,
  );
}
