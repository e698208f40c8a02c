import type { Process, Spec } from "../oci/spec.ts";
import { CPU_QUOTA_ENV, fdPath, GUEST_ENV_PREFIX, RUNNER_ENV, type RunnerLayout } from "./runner-layout.ts";

export const RUN_WASM_FLAG = "--run-wasm";

/** CFS quota / period from the spec, when it limits the container. */
export function cpuQuota(spec: Spec): number | undefined {
  const cpu = spec.linux?.resources?.cpu;
  if (!cpu?.quota || cpu.quota <= 0) return undefined;
  return cpu.quota / (cpu.period || 100_000);
}

/**
 * The guest's environment, each variable renamed with GUEST_ENV_PREFIX: what the image or the
 * client sets (LD_PRELOAD, LD_LIBRARY_PATH, GLIBC_TUNABLES, NODE_OPTIONS, …) must not steer the
 * host's loader or the runner's Node, and a variable runc adds for the runner (HOME) is not the
 * guest's. The runner strips the prefix again.
 */
export function runnerEnv(env: readonly string[], layout: RunnerLayout): string[] {
  return [...env.map((e) => `${GUEST_ENV_PREFIX}${e}`), `${RUNNER_ENV}=${JSON.stringify(layout)}`];
}

/**
 * The process that runs `wasmPath` (a container path) with `args` through the runner. Nothing of
 * the runner is in the container's file system: the kernel executes the loader from fd 3, the
 * loader preloads every library from its fd (so no name is ever looked up in the image) and runs
 * the binary from its fd. The runner closes them all before the guest starts (runner.ts).
 */
export function runnerProcess(
  process: Process,
  layout: RunnerLayout,
  wasmPath: string,
  data: Record<string, string> = {},
): Process {
  return {
    ...process,
    env: runnerEnv(process.env ?? [], layout),
    args: [
      fdPath(layout.loader),
      "--inhibit-cache",
      "--preload",
      layout.libs.map(fdPath).join(" "),
      fdPath(layout.binary),
      RUN_WASM_FLAG,
      wasmPath,
      JSON.stringify(data),
      "--",
      ...(process.args ?? []),
    ],
  };
}

/**
 * The Wasm container's spec: everything containerd wrote (namespaces, cgroups, user, seccomp, the
 * user's mounts) stays, nothing is mounted for the runner, and the process becomes the runner.
 */
export function runnerSpec(
  spec: Spec,
  rootfs: string,
  layout: RunnerLayout,
  wasmPath: string,
  data: Record<string, string> = {},
): Spec {
  const process = runnerProcess(spec.process ?? { cwd: "/" }, layout, wasmPath, data);
  // Unprefixed, so it is the runner's and never the guest's (a container cannot always read its cgroup).
  const quota = cpuQuota(spec);
  if (quota !== undefined) process.env = [...(process.env ?? []), `${CPU_QUOTA_ENV}=${quota}`];
  return { ...spec, root: { ...spec.root, path: rootfs }, process };
}
