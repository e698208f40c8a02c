/**
 * Minimal ustar writer: regular files, directories and symlinks, which is all an image layer or an
 * OCI layout needs. Entries are written in the given order with fixed owner and mtime, so the same
 * input always gives the same bytes.
 */

export type TarEntry =
  | { type: "file"; path: string; data: Uint8Array; mode: number }
  | { type: "dir"; path: string; mode: number }
  | { type: "symlink"; path: string; target: string };

const BLOCK = 512;
const encoder = new TextEncoder();

function putString(header: Uint8Array, offset: number, width: number, value: string, field: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > width) throw new Error(`tar: ${field} too long (${bytes.length} > ${width} bytes): ${value}`);
  header.set(bytes, offset);
}

/** Octal, zero-padded, NUL-terminated: the portable ustar number format. */
function putOctal(header: Uint8Array, offset: number, width: number, value: number, field: string): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${field} ${value} does not fit ustar`);
  putString(header, offset, width, `${digits.padStart(width - 1, "0")}\0`, field);
}

/** ustar keeps names over 100 bytes by moving leading directories into the 155-byte prefix field. */
function splitName(name: string): [prefix: string, name: string] {
  if (encoder.encode(name).length <= 100) return ["", name];
  for (let i = name.indexOf("/"); i > 0; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(rest).length <= 100 && rest) return [prefix, rest];
  }
  throw new Error(`tar: path too long for ustar: ${name}`);
}

function header(entry: TarEntry, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const [prefix, name] = splitName(entry.type === "dir" ? `${entry.path}/` : entry.path);
  putString(h, 0, 100, name, "name");
  putOctal(h, 100, 8, entry.type === "symlink" ? 0o777 : entry.mode & 0o7777, "mode");
  putOctal(h, 108, 8, 0, "uid");
  putOctal(h, 116, 8, 0, "gid");
  putOctal(h, 124, 12, size, "size");
  putOctal(h, 136, 12, mtime, "mtime");
  h[156] = { file: 0x30, dir: 0x35, symlink: 0x32 }[entry.type];
  if (entry.type === "symlink") putString(h, 157, 100, entry.target, "link target");
  putString(h, 257, 8, "ustar\u000000", "magic");
  putString(h, 345, 155, prefix, "prefix");
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  putString(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `, "checksum");
  return h;
}

/** Builds a complete archive. Paths are relative (no leading `/`); directory paths have no trailing `/`. */
export function tarArchive(entries: readonly TarEntry[], mtime = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const entry of entries) {
    const data = entry.type === "file" ? entry.data : undefined;
    const size = data?.length ?? 0;
    parts.push(header(entry, size, mtime));
    if (data) parts.push(data);
    total += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  // Two zero blocks end the archive; the output buffer starts zeroed, so padding and trailer come free.
  const out = new Uint8Array(total + 2 * BLOCK);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += Math.ceil(part.length / BLOCK) * BLOCK;
  }
  return out;
}
