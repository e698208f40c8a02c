import { basename } from "node:path";
import type { HostRuntime } from "./host-libs.ts";
import type { Mount, Process, Spec } from "./spec.ts";

/** Where the runner and the host's loader and libraries appear inside a Wasm container. Under /dev (a
 * tmpfs in every spec containerd writes) so runc creates the mount points there, not in the image. */
export const RUNNER_DIR = "/dev/.wasm-shim";
export const RUN_WASM_FLAG = "--run-wasm";
/** Node would read NODE_OPTIONS meant for the guest; the runner gets it back under this name. */
export const GUEST_NODE_OPTIONS = "WASM_SHIM_GUEST_NODE_OPTIONS";

export function runnerMounts(host: HostRuntime): Mount[] {
  const libs = host.libDirs.map((dir, i) => ({ destination: `${RUNNER_DIR}/lib${i}`, type: "bind", source: dir, options: ["rbind", "ro", "nosuid", "nodev"] }));
  return [...libs, { destination: `${RUNNER_DIR}/runner`, type: "bind", source: host.binary, options: ["bind", "ro", "nosuid", "nodev"] }];
}

/** The process that runs `wasmPath` (a container path) with `args` through the runner. */
export function runnerProcess(process: Process, host: HostRuntime, wasmPath: string): Process {
  const loaderDir = host.libDirs.indexOf(host.libDirs.find((d) => host.loader.startsWith(d + "/"))!);
  const libraryPath = host.libDirs.map((_, i) => `${RUNNER_DIR}/lib${i}`).join(":");
  const env = (process.env ?? []).map((e) => (e.startsWith("NODE_OPTIONS=") ? `${GUEST_NODE_OPTIONS}=${e.slice("NODE_OPTIONS=".length)}` : e));
  return {
    ...process,
    env,
    args: [`${RUNNER_DIR}/lib${loaderDir}/${basename(host.loader)}`, "--library-path", libraryPath, `${RUNNER_DIR}/runner`, RUN_WASM_FLAG, wasmPath, "--", ...(process.args ?? [])],
  };
}

/**
 * The Wasm container's spec: everything containerd wrote (namespaces, cgroups, user, seccomp, the
 * user's mounts) stays; the host runtime is bind-mounted read-only and the process becomes the runner.
 */
export function runnerSpec(spec: Spec, rootfs: string, host: HostRuntime, wasmPath: string): Spec {
  return {
    ...spec,
    root: { ...spec.root, path: rootfs },
    mounts: [...(spec.mounts ?? []), ...runnerMounts(host)],
    process: runnerProcess(spec.process ?? { cwd: "/" }, host, wasmPath),
  };
}
