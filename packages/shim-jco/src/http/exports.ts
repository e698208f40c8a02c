import { Reader, WasmFormatError } from "@wasm-shims/shim-core";

function skipExternDesc(r: Reader): void {
  const kind = r.byte();
  if (kind === 0x00) {
    r.byte(); // core sort: module
    r.u32();
  } else if (kind === 0x02) {
    // value bound: eq valueidx, or a valtype (a type index or a one-byte primitive)
    if (r.byte() === 0x00) r.u32();
    else skipValType(r);
  } else if (kind === 0x03) {
    if (r.byte() === 0x00) r.u32(); // eq typeidx; 0x01 is sub resource
  } else if (kind === 0x01 || kind === 0x04 || kind === 0x05) {
    r.u32();
  } else throw new WasmFormatError(`unknown extern kind ${kind}`);
}

function skipValType(r: Reader): void {
  const b = r.bytes[r.pos];
  if (b !== undefined && b >= 0x73 && b <= 0x7f) r.pos++;
  else r.u32();
}

/**
 * The names a component exports at its top level, read from its binary (component export
 * section, id 11) without transpiling: the transpile of a wasi:http handler differs from a
 * command's (JSPI), so the kind must be known first.
 */
export function componentExports(bytes: Uint8Array): string[] {
  const names: string[] = [];
  const r = new Reader(bytes, 8);
  while (!r.done) {
    const id = r.byte();
    const body = r.take(r.u32());
    if (id === 11) names.push(...exportNames(new Reader(body)));
  }
  return names;
}

function exportNames(r: Reader): string[] {
  const names: string[] = [];
  for (let n = r.u32(); n > 0; n--) {
    const form = r.byte();
    if (form !== 0x00 && form !== 0x01) throw new WasmFormatError(`unknown export name form ${form}`);
    names.push(r.name());
    const sort = r.byte();
    if (sort === 0x00) r.byte();
    r.u32();
    if (r.byte() === 0x01) skipExternDesc(r);
  }
  return names;
}

/** A component served over HTTP: it exports wasi:http/incoming-handler and not wasi:cli/run. */
export function isHttpHandler(bytes: Uint8Array): boolean {
  try {
    const names = componentExports(bytes);
    const has = (iface: string) => names.some((n) => n === iface || n.startsWith(`${iface}@`));
    return has("wasi:http/incoming-handler") && !has("wasi:cli/run");
  } catch {
    return false;
  }
}
