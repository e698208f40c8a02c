import { encodeU32, Reader, readSections, SECTION, writeModule } from "@wasm-shims/shim-core";

/** A function body valid for any type: no locals, `unreachable`, `end`. */
const TRAP = Uint8Array.of(3, 0, 0x00, 0x0b);

/** Custom sections a stand-in leaves out: only a debugger or a backtrace reads them, and they are large. */
const dropped = (name = "") => name === "name" || name.startsWith(".debug");

/**
 * A module with `module`'s interface and none of its work, for the SDK to package in its place.
 * The SDK copies a package into its runtime's memory, hashes it with SHA-256, and parses the
 * module again when it spawns it, in Rust compiled to Wasm: 0.7 s for a 31 MB module before the
 * guest's first instruction. It needs the module's types only (imports, exports, memories, tables,
 * globals), so every section stays as it is but the code, whose bodies all trap, and the data.
 * The runner hands the SDK the real module when it compiles this one (compile.ts).
 */
export function standIn(module: Uint8Array): Uint8Array<ArrayBuffer> {
  const sections = readSections(module);
  const functions = sections.find((s) => s.id === SECTION.function);
  const count = functions ? new Reader(functions.payload).u32() : 0;
  const head = Uint8Array.from(encodeU32(count));
  const code = new Uint8Array(head.length + count * TRAP.length);
  code.set(head);
  for (let i = 0; i < count; i++) code.set(TRAP, head.length + i * TRAP.length);
  return writeModule(
    sections
      .filter((s) => s.id !== SECTION.data && s.id !== SECTION.dataCount && !dropped(s.name))
      .map((s) => (s.id === SECTION.code ? { id: s.id, payload: code } : s)),
  );
}
