import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

export interface TarRecord {
  name: string;
  /** ustar typeflag: "0" file, "5" directory, "2" symlink. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  data: Uint8Array;
}

const decoder = new TextDecoder();

function text(block: Uint8Array, offset: number, width: number): string {
  const field = block.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, width: number): number {
  return parseInt(text(block, offset, width).trim() || "0", 8);
}

/** An independent ustar reader, so the writer is checked against the format and not against itself. */
export function readTar(bytes: Uint8Array): TarRecord[] {
  const records: TarRecord[] = [];
  for (let offset = 0; offset + 512 <= bytes.length; ) {
    const block = bytes.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    if (sum !== octal(block, 148, 8)) throw new Error(`bad checksum at ${offset}`);
    if (text(block, 257, 6) !== "ustar") throw new Error(`not ustar at ${offset}`);
    const prefix = text(block, 345, 155);
    const name = text(block, 0, 100);
    const size = octal(block, 124, 12);
    records.push({
      name: prefix ? `${prefix}/${name}` : name,
      type: text(block, 156, 1),
      mode: octal(block, 100, 8),
      uid: octal(block, 108, 8),
      gid: octal(block, 116, 8),
      mtime: octal(block, 136, 12),
      linkname: text(block, 157, 100),
      data: bytes.slice(offset + 512, offset + 512 + size),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return records;
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: unknown;
}

export interface ImageContents {
  files: Map<string, Uint8Array>;
  index: { schemaVersion: number; manifests: Descriptor[] };
  manifest: { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[] };
  config: {
    architecture: string;
    os: string;
    config: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
    rootfs: { type: string; diff_ids: string[] };
  };
  layerTar: Uint8Array;
  layer: TarRecord[];
}

/** Reads an OCI layout tarball, checking every descriptor against the blob it points at. */
export function readImage(tarball: string): ImageContents {
  const files = new Map(readTar(readFileSync(tarball)).map((r) => [r.name, r.data]));
  const blob = (d: Descriptor): Uint8Array => {
    const data = files.get(`blobs/sha256/${d.digest.slice("sha256:".length)}`);
    if (!data) throw new Error(`missing blob ${d.digest}`);
    if (sha256(data) !== d.digest) throw new Error(`digest mismatch for ${d.digest}`);
    if (data.length !== d.size) throw new Error(`size mismatch for ${d.digest}: ${data.length} != ${d.size}`);
    return data;
  };
  const json = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T;
  const index = json<ImageContents["index"]>(files.get("index.json") ?? new Uint8Array());
  const manifest = json<ImageContents["manifest"]>(blob(index.manifests[0] as Descriptor));
  const config = json<ImageContents["config"]>(blob(manifest.config));
  const layerTar = gunzipSync(blob(manifest.layers[0] as Descriptor));
  return { files, index, manifest, config, layerTar, layer: readTar(layerTar) };
}
