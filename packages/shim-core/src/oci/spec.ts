/** The parts of the OCI runtime spec (config.json) the shim reads or rewrites. Unknown fields pass through. */
export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface Process {
  terminal?: boolean;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  args?: string[];
  env?: string[];
  cwd: string;
  [key: string]: unknown;
}

export interface LinuxResources {
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  [key: string]: unknown;
}

export interface Spec {
  ociVersion?: string;
  process?: Process;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: Mount[];
  annotations?: Record<string, string>;
  linux?: {
    resources?: LinuxResources;
    cgroupsPath?: string;
    namespaces?: { type: string; path?: string }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export const SANDBOX_ID_ANNOTATION = "io.kubernetes.cri.sandbox-id";
export const CONTAINER_TYPE_ANNOTATION = "io.kubernetes.cri.container-type";

/** KEY=VALUE list → record; later entries win, as execve would see them. */
export function envRecord(env: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
