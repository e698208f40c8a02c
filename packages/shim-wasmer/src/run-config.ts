import type { LayerConfig } from "./wasi/preview1.ts";

/**
 * The custom section that carries a run's LayerConfig inside the module handed to the SDK. The
 * SDK compiles the module and instantiates it in a worker of its own choosing; a custom section
 * goes wherever the module goes and is invisible to the guest, so the worker that instantiates
 * it learns exactly this run's configuration.
 */
export const SECTION = "wasm-shims.wasmer.run";
/** The engine posts `{ done: run }` here once a guest has ended, to whatever worker ran it. */
export const CHANNEL = "wasm-shims.wasmer.runs";

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/**
 * `module` with the config appended as a custom section (valid anywhere after the header): written
 * into the `room` bytes after the module in its buffer when they are enough (the runner leaves
 * some: RunContext.module), else into a copy.
 */
export function withConfig(module: Uint8Array, config: LayerConfig, room = 0): Uint8Array<ArrayBuffer> {
  const name = new TextEncoder().encode(SECTION);
  const payload = new TextEncoder().encode(JSON.stringify(config));
  const body = [...leb128(name.length), ...name];
  const size = leb128(body.length + payload.length);
  const length = module.length + 1 + size.length + body.length + payload.length;
  const inPlace = module.length + room >= length && module.buffer instanceof ArrayBuffer;
  const out = inPlace ? new Uint8Array(module.buffer, module.byteOffset, length) : new Uint8Array(length);
  let at = 0;
  for (const part of [module, [0], size, body, payload]) {
    if (!(inPlace && part === module)) out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The config a module carries, if it is one the engine prepared. The last section is the engine's:
 * withConfig appends it after anything the image's module may have put under the same name.
 */
export function readConfig(module: WebAssembly.Module): LayerConfig | undefined {
  const section = WebAssembly.Module.customSections(module, SECTION).at(-1);
  return section ? (JSON.parse(new TextDecoder().decode(section)) as LayerConfig) : undefined;
}
