import { closeSync, readFileSync } from "node:fs";
import { GUEST_ENV_PREFIX, runnerLayoutFromEnv } from "./runner-layout.ts";

/**
 * A file's bytes in an ArrayBuffer of their own, without copying them: Node reads a file of more
 * than 4 kB into a buffer that holds it alone, so only a small one (from Node's shared pool) is
 * copied. A large module is read once where `new Uint8Array(readFileSync(…))` wrote it twice, and
 * each copy touches fresh pages: 115 ms for a 31 MB module on the test machine.
 */
export function readBytes(file: string | number): Uint8Array<ArrayBuffer> {
  return owned(readFileSync(file));
}

/** `bytes` when they are all of an ArrayBuffer (not shared), else a copy of them that is. */
export function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const { buffer } = bytes;
  const whole = buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && buffer.byteLength === bytes.byteLength;
  return whole ? new Uint8Array(buffer) : new Uint8Array(bytes);
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
