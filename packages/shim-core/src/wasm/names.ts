import { Reader, type Section } from "./binary.ts";

export interface Names {
  functions: Map<number, string>;
  globals: Map<number, string>;
}

/**
 * The `name` custom section's function and global names (subsections 1 and 7), which wasm-ld
 * writes unless the module was stripped. Undefined when there is none or it cannot be read.
 */
export function readNames(sections: readonly Section[]): Names | undefined {
  const section = sections.find((s) => s.id === 0 && s.name === "name");
  if (!section) return undefined;
  const names: Names = { functions: new Map(), globals: new Map() };
  try {
    const r = new Reader(section.payload);
    r.name();
    while (!r.done) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      const map = id === 1 ? names.functions : id === 7 ? names.globals : undefined;
      if (map) {
        const sub = new Reader(r.bytes, r.pos, end);
        for (let n = sub.u32(); n > 0; n--) map.set(sub.u32(), sub.name());
      }
      r.pos = end;
    }
  } catch {
    // A malformed name section is not ours to reject: the engine decides about the module.
    return undefined;
  }
  return names;
}

/** The index of the function with this exact name. */
export function functionIndex(names: Names, name: string): number | undefined {
  for (const [index, n] of names.functions) if (n === name) return index;
  return undefined;
}
