/**
 * The module names a WebAssembly module imports from, read from its import section without
 * compiling it (a large program would take long to compile twice). Throws on a malformed module.
 */
export function importModules(bytes: Uint8Array): Set<string> {
  let at = 8;
  const u32 = () => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 28) throw new Error("malformed LEB128 in module");
      const b = bytes[at++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
  };
  const name = () => {
    const len = u32();
    const s = new TextDecoder().decode(bytes.subarray(at, at + len));
    at += len;
    return s;
  };
  const modules = new Set<string>();
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = u32();
    const end = at + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        modules.add(name());
        name();
        skipImportDesc();
      }
      return modules;
    }
    at = end;
  }
  return modules;

  function skipImportDesc(): void {
    const kind = bytes[at++];
    if (kind === 0) u32(); // function: type index
    else if (kind === 1) {
      at++; // table: reftype, then limits
      limits();
    } else if (kind === 2) limits(); // memory
    else if (kind === 3) at += 2; // global: valtype, mutability
    else if (kind === 4) {
      at++; // tag: attribute, type index
      u32();
    } else throw new Error(`unknown import kind ${kind}`);
  }
  // Limits may be 64-bit (memory64): skip their LEB128 numbers without reading them.
  function limits(): void {
    const flags = bytes[at++]!;
    skip();
    if (flags & 1) skip();
    if (flags & 8) skip(); // custom page size
  }
  function skip(): void {
    while (at < bytes.length && bytes[at++]! & 0x80);
  }
}
