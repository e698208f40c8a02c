import type { Transpiled } from "./transpile.ts";

/**
 * A transpile output as one blob, the form shim-core keeps in containerd's content store:
 * 4-byte header length, a JSON header (exports, file names and sizes), then the files' bytes.
 * shim-core seals and checks it; this only packs and unpacks.
 */
export function packTranspiled(out: Transpiled): Uint8Array {
  const names = Object.keys(out.files).sort();
  const header = Buffer.from(
    JSON.stringify({ exports: out.exports, files: names.map((n) => [n, out.files[n]!.length]) }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, ...names.map((n) => out.files[n]!)]);
}

export function unpackTranspiled(blob: Uint8Array): Transpiled {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const headerLength = bytes.readUInt32BE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8")) as {
    exports: string[];
    files: [string, number][];
  };
  const files: Record<string, Uint8Array> = {};
  let at = 4 + headerLength;
  for (const [name, size] of header.files) {
    if (name.includes("/") || name.startsWith(".") || at + size > bytes.length)
      throw new Error(`precompiled transpile output: bad entry ${JSON.stringify(name)}`);
    files[name] = new Uint8Array(bytes.subarray(at, at + size));
    at += size;
  }
  if (at !== bytes.length) throw new Error("precompiled transpile output: trailing bytes");
  return { exports: header.exports, files };
}
