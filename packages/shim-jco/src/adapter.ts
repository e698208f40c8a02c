import { readFile } from "node:fs/promises";

/**
 * The WASI preview1 command adapter, which turns a preview1 core module into a wasi:cli/command
 * component. scripts/copy-adapter.mjs copies it from the locked @bytecodealliance/jco into dist/adapter at build time; the executable
 * embeds it as an asset (tools/sea-assets.mjs follows the URL).
 */
export async function commandAdapter(): Promise<Uint8Array> {
  try {
    return await readFile(new URL("../dist/adapter/wasi_snapshot_preview1.command.wasm", import.meta.url));
  } catch (err) {
    throw new Error(`the WASI preview1 adapter is missing (run the package's build): ${(err as Error).message}`);
  }
}

/** A component has layer 1 in the header's version field (bytes 4..7: 0d 00 01 00). */
export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x0d && bytes[5] === 0x00 && bytes[6] === 0x01 && bytes[7] === 0x00;
}
