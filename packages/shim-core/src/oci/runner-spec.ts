import { basename } from "node:path";
import type { Prepared } from "../engine.ts";
import type { HostRuntime } from "./host-libs.ts";
import type { Mount, Process, Spec } from "./spec.ts";

/** Where the runner and the host's loader and libraries appear inside a Wasm container. Under /dev (a
 * tmpfs in every spec containerd writes) so runc creates the mount points there, not in the image. */
export const RUNNER_DIR = "/dev/.wasm-shim";
export const RUN_WASM_FLAG = "--run-wasm";
/** Node would read NODE_OPTIONS meant for the guest; the runner gets it back under this name. */
export const GUEST_NODE_OPTIONS = "WASM_SHIM_GUEST_NODE_OPTIONS";
/** Where the host's extracted assets are mounted, and the variable that points the runner there. */
export const ASSET_DIR = `${RUNNER_DIR}/assets`;
export const ASSET_DIR_ENV = "WASM_SHIM_ASSET_DIR";
/** runc adds HOME when the spec has none; this marker tells the runner the guest had none. */
export const GUEST_HAS_NO_HOME = "WASM_SHIM_GUEST_HAS_NO_HOME";
/** The container's CPU quota in CPUs, for the runner (a container cannot always read its cgroup). */
export const CPU_QUOTA_ENV = "WASM_SHIM_CPU_QUOTA";

/** CFS quota / period from the spec, when it limits the container. */
export function cpuQuota(spec: Spec): number | undefined {
  const cpu = spec.linux?.resources?.cpu;
  if (!cpu?.quota || cpu.quota <= 0) return undefined;
  return cpu.quota / (cpu.period || 100_000);
}

const readOnly = (source: string, destination: string, options = ["rbind", "ro", "nosuid", "nodev"]): Mount => ({ destination, type: "bind", source, options });

export function runnerMounts(host: HostRuntime, extra: Prepared["mounts"] = []): Mount[] {
  const libs = host.libDirs.map((dir, i) => readOnly(dir, `${RUNNER_DIR}/lib${i}`));
  return [...libs, readOnly(host.binary, `${RUNNER_DIR}/runner`, ["bind", "ro", "nosuid", "nodev"]), ...extra.map((m) => readOnly(m.source, m.destination))];
}

/** The process that runs `wasmPath` (a container path) with `args` through the runner. */
export function runnerProcess(process: Process, host: HostRuntime, wasmPath: string, data: Record<string, string> = {}, assetDir?: string): Process {
  const libraryPath = host.libDirs.map((_, i) => `${RUNNER_DIR}/lib${i}`).join(":");
  const env = (process.env ?? []).map((e) => (e.startsWith("NODE_OPTIONS=") ? `${GUEST_NODE_OPTIONS}=${e.slice("NODE_OPTIONS=".length)}` : e));
  if (!env.some((e) => e.startsWith("HOME="))) env.push(`${GUEST_HAS_NO_HOME}=1`);
  if (assetDir) env.push(`${ASSET_DIR_ENV}=${ASSET_DIR}`);
  return {
    ...process,
    env,
    args: [`${RUNNER_DIR}/lib0/${basename(host.loader)}`, "--library-path", libraryPath, `${RUNNER_DIR}/runner`, RUN_WASM_FLAG, wasmPath, JSON.stringify(data), "--", ...(process.args ?? [])],
  };
}

/**
 * The Wasm container's spec: everything containerd wrote (namespaces, cgroups, user, seccomp, the
 * user's mounts) stays; the host runtime is bind-mounted read-only and the process becomes the runner.
 */
export function runnerSpec(spec: Spec, rootfs: string, host: HostRuntime, wasmPath: string, prepared: Prepared = {}, assetDir?: string): Spec {
  const extra = [...(prepared.mounts ?? []), ...(assetDir ? [{ source: assetDir, destination: `${ASSET_DIR}/${basename(assetDir)}` }] : [])];
  const process = runnerProcess(spec.process ?? { cwd: "/" }, host, wasmPath, prepared.data, assetDir);
  const quota = cpuQuota(spec);
  if (quota !== undefined) process.env = [...(process.env ?? []), `${CPU_QUOTA_ENV}=${quota}`];
  return { ...spec, root: { ...spec.root, path: rootfs }, mounts: [...(spec.mounts ?? []), ...runnerMounts(host, extra)], process };
}
