import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { GUEST_ENV_PREFIX, runnerLayoutFromEnv } from "./runner-layout.ts";

/**
 * A file's bytes in an ArrayBuffer of their own, without copying them: Node reads a file of more
 * than 4 kB into a buffer that holds it alone, so only a small one (from Node's shared pool) is
 * copied. A large module is read once where `new Uint8Array(readFileSync(…))` wrote it twice, and
 * each copy touches fresh pages: 115 ms for a 31 MB module on the test machine.
 */
export function readBytes(file: string | number): Uint8Array<ArrayBuffer> {
  return uncopied(readFileSync(file));
}

/** What Node read, as a Uint8Array over the same memory when the buffer holds it alone, else copied. */
export function uncopied(bytes: Buffer): Uint8Array<ArrayBuffer> {
  const whole = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
  return whole ? owned(bytes) : new Uint8Array(bytes);
}

/** `bytes` when their buffer is an ArrayBuffer (not shared memory), else a copy of them that is. */
export function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
}

/** What RunContext.module leaves free after it in its buffer: room for an engine's own section. */
export const MODULE_ROOM = 64 * 1024;
/** Buffers readModule made: only their room is free to write (a Buffer's may be Node's pool). */
const roomy = new WeakSet<ArrayBufferLike>();

/** How many bytes after `bytes` in their buffer an engine may write: 0 unless readModule made it. */
export function roomAfter(bytes: Uint8Array): number {
  return roomy.has(bytes.buffer) ? bytes.buffer.byteLength - bytes.byteOffset - bytes.byteLength : 0;
}

/**
 * The guest's module, read once into a buffer MODULE_ROOM larger: shim-wasmer appends its run's
 * configuration to the module it hands its SDK, which would otherwise copy all of it (160 ms for
 * 31 MB here, every page of the copy touched for the first time).
 */
export function readModule(path: string): Uint8Array<ArrayBuffer> {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(new ArrayBuffer(size + MODULE_ROOM), 0, size);
    roomy.add(bytes.buffer);
    let at = 0;
    for (let n = 1; at < size && n > 0; at += n) n = readSync(fd, bytes, at, size - at, at);
    return at === size ? bytes : bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

const closeQuietly = (fd: number) => {
  try {
    closeSync(fd);
  } catch {}
};

/**
 * The runner's first step in the container: close the fds only the loader needed (it has mapped
 * what they hold) and read the prepared files into memory, closing theirs. What is left open is
 * the asset directory, closed by releaseRunnerAssets (assets.ts) once the engine has loaded.
 */
export function takeRunnerFiles(env: NodeJS.ProcessEnv = process.env): Record<string, Uint8Array> {
  const layout = runnerLayoutFromEnv(env);
  if (!layout) return {};
  [layout.loader, layout.binary, ...layout.libs].forEach(closeQuietly);
  const files: Record<string, Uint8Array> = {};
  try {
    for (const [name, fd] of Object.entries(layout.files ?? {})) files[name] = readBytes(fd);
  } finally {
    Object.values(layout.files ?? {}).forEach(closeQuietly);
  }
  return files;
}

/**
 * The guest's environment: exactly the spec's, which reached the runner with GUEST_ENV_PREFIX on
 * every name (runner-spec.ts); what runc or the host added for the runner is not the guest's.
 * Outside a container (no layout) the process's own environment is the guest's.
 */
export function guestEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const prefixed = runnerLayoutFromEnv(env) !== undefined;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (!prefixed) out[k] = v;
    else if (k.startsWith(GUEST_ENV_PREFIX)) out[k.slice(GUEST_ENV_PREFIX.length)] = v;
  }
  return out;
}
