import { closeSync, readFileSync } from "node:fs";
import { GUEST_ENV_PREFIX, runnerLayoutFromEnv } from "./runner-layout.ts";

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
    for (const [name, fd] of Object.entries(layout.files ?? {})) files[name] = new Uint8Array(readFileSync(fd));
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
