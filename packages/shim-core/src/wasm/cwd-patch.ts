import {
  SECTION,
  WasmFormatError,
  Reader,
  isCoreModule,
  readSections,
  s32,
  u32,
  vector,
  vectorEntries,
  writeModule,
  type Section,
} from "./binary.ts";
import { resolverBody, slotSize } from "./cwd-resolver.ts";
import { OP, decodeBody } from "./instructions.ts";
import { initialBytes, initialString, readLayout, skipConstExpr, type ModuleLayout } from "./module.ts";
import { functionIndex, readNames, type Names } from "./names.ts";

/**
 * WASI preview1 has no working directory: wasi-libc keeps one in `__wasilibc_cwd` (initially "/"),
 * which getcwd reports and its chdir emulation (`__wasilibc_find_relpath_alloc`, linked with
 * chdir) joins to relative paths. Without chdir, wasi-libc resolves a relative path from the
 * preopen exactly like an absolute one. This rewrites a module's bytes so that it starts in
 * `cwd`, without asking anything of the engine (see docs/architecture.md, "Paths").
 */
export interface CwdPatch {
  module: Uint8Array<ArrayBuffer>;
  /** What was done, or why nothing was: for the shim's log. */
  note: string;
  patched: boolean;
}

/** Stack that must remain below the reserved bytes; wasm-ld's default stack is 64 KiB. */
const MIN_STACK_LEFT = 16 * 1024;
const align16 = (n: number) => Math.ceil(n / 16) * 16;
const I32 = 0x7f;

/** The address of `__wasilibc_cwd`: a word a named wasi-libc function loads that initially points at "/". */
function findCwdVariable(layout: ModuleLayout, names: Names): number | "ambiguous" | undefined {
  const found = new Set<number>();
  for (const fn of ["getcwd", "__wasilibc_find_relpath_alloc", "chdir"]) {
    const index = functionIndex(names, fn);
    const body = index === undefined ? undefined : layout.bodies[index - layout.importedFunctions];
    if (!body) continue;
    const { instructions } = decodeBody(body);
    for (let i = 1; i < instructions.length; i++) {
      const [c, load] = [instructions[i - 1]!, instructions[i]!];
      if (c.op !== OP.i32Const || load.op !== OP.i32Load) continue;
      const address = (c.imm[0]! + load.imm[1]!) >>> 0;
      const word = initialBytes(layout, address, 4);
      if (!word) continue;
      const pointer = new DataView(word.buffer, word.byteOffset, 4).getUint32(0, true);
      if (initialString(layout, pointer, 2) === "/") found.add(address);
    }
  }
  if (found.size > 1) return "ambiguous";
  return found.values().next().value;
}

function definedFunction(layout: ModuleLayout, names: Names, name: string): number | undefined {
  const index = functionIndex(names, name);
  return index !== undefined &&
    index >= layout.importedFunctions &&
    index < layout.importedFunctions + layout.bodies.length
    ? index
    : undefined;
}

/** Replaces a section's payload in place, keeping the order of sections. */
function putSection(sections: Section[], id: number, payload: Uint8Array): void {
  const at = sections.findIndex((s) => s.id === id);
  const section = { id, payload, offset: -1 };
  if (at >= 0) sections[at] = section;
  else throw new WasmFormatError(`module has no section ${id}`);
}

function appendEntries(payload: Uint8Array, extra: Uint8Array[]): Uint8Array {
  const r = new Reader(payload);
  const count = r.u32();
  const rest = payload.subarray(r.pos);
  const head = Uint8Array.from(u32(count + extra.length));
  const out = new Uint8Array(head.length + rest.length + extra.reduce((n, e) => n + e.length, 0));
  out.set(head);
  out.set(rest, head.length);
  let at = head.length + rest.length;
  for (const e of extra) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

function sized(bytes: Uint8Array): Uint8Array {
  const head = u32(bytes.length);
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}
const activeSegment = (address: number, bytes: Uint8Array) =>
  Uint8Array.from([0x00, 0x41, ...s32(address | 0), 0x0b, ...u32(bytes.length), ...bytes]);

/** Returns the module unchanged with a note, or patched so that it starts in `cwd`. */
export function patchCwd(module: Uint8Array<ArrayBuffer>, cwd: string): CwdPatch {
  const unchanged = (note: string): CwdPatch => ({ module, note, patched: false });
  const dir = cwd.replace(/\/+$/, "");
  if (dir === "") return unchanged("the working directory is /: nothing to patch");
  if (!cwd.startsWith("/")) return unchanged(`the working directory ${cwd} is not absolute`);
  if (!isCoreModule(module)) return unchanged("not a core module (components get the cwd from wasi:cli/environment)");
  try {
    return patch(module, dir);
  } catch (err) {
    // Whatever the bytes are, the engine gets them as they came and decides: never fail a run here.
    return unchanged(`cannot read the module: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function patch(module: Uint8Array<ArrayBuffer>, dir: string): CwdPatch {
  const unchanged = (why: string): CwdPatch => ({
    module,
    note: `runs with the working directory /: ${why}`,
    patched: false,
  });
  const sections = readSections(module);
  const names = readNames(sections);
  if (!names) return unchanged("no name section, so wasi-libc's working directory cannot be found");
  const layout = readLayout(module, sections);
  const cwdVar = findCwdVariable(layout, names);
  if (cwdVar === "ambiguous") return unchanged("more than one candidate for __wasilibc_cwd");
  const alloc = definedFunction(layout, names, "__wasilibc_find_relpath_alloc");
  const abspath = definedFunction(layout, names, "__wasilibc_find_abspath");
  const relpath = definedFunction(layout, names, "__wasilibc_find_relpath");
  if (alloc !== undefined && cwdVar === undefined)
    return unchanged("chdir emulation is linked but __wasilibc_cwd was not found");
  const inject = alloc === undefined && abspath !== undefined && relpath !== undefined;
  if (!inject && cwdVar === undefined)
    return unchanged("it links neither getcwd nor wasi-libc's path resolution (nothing to patch)");
  if (layout.otherData) return unchanged("its data segments are not all active at constant addresses");
  const spIndex = [...names.globals].find(([, n]) => n === "__stack_pointer")?.[0];
  const sp = spIndex === undefined ? undefined : layout.globals[spIndex];
  if (spIndex !== 0 || !sp || sp.type !== I32 || !sp.mutable || sp.i32 === undefined)
    return unchanged("no __stack_pointer as global 0 with a constant initial value");
  if (inject && layout.types[layout.functionTypes[abspath! - layout.importedFunctions]!] !== "7f7f7f->7f")
    return unchanged("__wasilibc_find_abspath has an unexpected signature");

  // What goes at the top of the stack: the cwd for __wasilibc_cwd; with the resolver, its toggle and two slots.
  const text = new TextEncoder();
  const cwdBytes = text.encode(`${dir}\0`);
  const prefix = text.encode(`${dir}/`);
  const slot = slotSize(prefix.length);
  const reserved = align16(16 + cwdBytes.length) + (inject ? 2 * slot : 0);
  const top = sp.i32 >>> 0;
  const base = top - reserved;
  const stackBottom = Math.max(0, ...layout.data.filter((d) => d.address < top).map((d) => d.address + d.bytes.length));
  if (base - stackBottom < MIN_STACK_LEFT)
    return unchanged(
      `its stack (${top - stackBottom} bytes) is too small to give ${reserved} bytes to the working directory`,
    );
  if (layout.memoryPages !== undefined && top > layout.memoryPages * 65536)
    return unchanged("its stack pointer lies outside its initial memory");
  const toggle = base;
  const cwdAt = base + 16;
  const slots = base + align16(16 + cwdBytes.length);

  const bytes = new Uint8Array(module);
  const notes: string[] = [];
  if (cwdVar !== undefined) {
    const seg = layout.data.find((d) => cwdVar >= d.address && cwdVar + 4 <= d.address + d.bytes.length)!;
    new DataView(bytes.buffer).setUint32(seg.offset + (cwdVar - seg.address), cwdAt, true);
    notes.push("getcwd");
  }
  const patched = readLayout(bytes);
  const out = patched.sections;
  const segments = [activeSegment(cwdAt, cwdBytes)];
  if (inject) {
    segments.push(activeSegment(slots, prefix), activeSegment(slots + slot, prefix));
    injectResolver(out, patched, relpath!, abspath!, { toggle, slots, slotSize: slot, prefixLength: prefix.length });
    notes.push("relative paths (resolver added: the module does not link chdir)");
  } else if (alloc !== undefined) notes.push("relative paths (wasi-libc's chdir emulation)");
  putSection(out, SECTION.data, appendEntries(out.find((s) => s.id === SECTION.data)!.payload, segments));
  const dataCount = out.find((s) => s.id === SECTION.dataCount);
  if (dataCount) dataCount.payload = Uint8Array.from(u32(new Reader(dataCount.payload).u32() + segments.length));
  setStackPointer(out, base);
  return {
    module: writeModule(out),
    note: `starts in ${dir}: ${notes.join(", ")}; ${reserved} bytes of stack reserved`,
    patched: true,
  };
}

function setStackPointer(sections: Section[], value: number): void {
  const globals = sections.find((s) => s.id === SECTION.global)!;
  const [first] = vectorEntries(globals.payload, (r) => {
    r.skip(2);
    skipConstExpr(r);
  });
  const rest = globals.payload.subarray(first!.end);
  const count = new Reader(globals.payload).u32();
  putSection(
    sections,
    SECTION.global,
    Uint8Array.from([...u32(count), I32, 1, 0x41, ...s32(value | 0), 0x0b, ...rest]),
  );
}

function injectResolver(
  sections: Section[],
  layout: ModuleLayout,
  relpath: number,
  abspath: number,
  at: { toggle: number; slots: number; slotSize: number; prefixLength: number },
): void {
  const resolver = layout.importedFunctions + layout.bodies.length;
  const caller = relpath - layout.importedFunctions;
  const body = layout.bodies[caller]!;
  const calls = decodeBody(body).instructions.filter((i) => i.op === OP.call && i.imm[0] === abspath);
  if (calls.length !== 1)
    throw new WasmFormatError(`__wasilibc_find_relpath calls __wasilibc_find_abspath ${calls.length} times, not once`);
  const call = calls[0]!;
  const callBytes = Uint8Array.from([OP.call, ...u32(resolver)]);
  const newBody = new Uint8Array(body.length - (call.end - call.start) + callBytes.length);
  newBody.set(body.subarray(0, call.start));
  newBody.set(callBytes, call.start);
  newBody.set(body.subarray(call.end), call.start + callBytes.length);
  const bodies = layout.bodies.map((b, i) => sized(i === caller ? newBody : b));
  bodies.push(sized(resolverBody({ findAbspath: abspath, ...at })));
  putSection(sections, SECTION.code, vector(bodies));
  putSection(
    sections,
    SECTION.function,
    vector(
      [...layout.functionTypes, layout.functionTypes[abspath - layout.importedFunctions]!].map((t) =>
        Uint8Array.from(u32(t)),
      ),
    ),
  );
}
