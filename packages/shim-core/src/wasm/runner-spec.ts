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
 * For a large module, the runner's own glibc tunables: malloc asks for transparent huge pages
 * (madvise) for its blocks of 2 MB and more. The module's bytes are read into one such block, and
 * V8 copies them into another as it compiles. Each 4 kB page touched for the first time is a
 * fault: about 95 ms per copy of a 31 MB module on the test machine, where 2 MB pages take a few
 * dozen faults (docs/architecture.md, "Large modules"). Not for every runner: threads' malloc
 * arenas grow in huge pages too, and in two A/B runs an idle runner of a small module kept up to
 * 3.6 MB more (wasmer), 1.9 MB (jco) or 1.8 MB (node). glibc before 2.35 ignores the name; the
 * kernel's THP setting `never` turns it off.
 */
const HUGE_PAGE_TUNABLES = "GLIBC_TUNABLES=glibc.malloc.hugetlb=1";
/** From this size on a module's start gains about 100 ms from them (two copies, ~3 ms per MB each). */
export const HUGE_PAGE_MODULE_BYTES = 16 * 1024 * 1024;

/** The runner's own variables (NAME=value) for a module of `moduleBytes`. */
export const moduleTunables = (moduleBytes: number): string[] =>
  moduleBytes >= HUGE_PAGE_MODULE_BYTES ? [HUGE_PAGE_TUNABLES] : [];

/**
 * The guest's environment, each variable renamed with GUEST_ENV_PREFIX: what the image or the
 * client sets (LD_PRELOAD, LD_LIBRARY_PATH, GLIBC_TUNABLES, NODE_OPTIONS, …) must not steer the
 * host's loader or the runner's Node, and a variable runc adds for the runner (HOME) is not the
 * guest's. The runner strips the prefix again.
 */
export function runnerEnv(env: readonly string[], layout: RunnerLayout, moduleBytes = 0): string[] {
  const own = [`${RUNNER_ENV}=${JSON.stringify(layout)}`, ...moduleTunables(moduleBytes)];
  return [...env.map((e) => `${GUEST_ENV_PREFIX}${e}`), ...own];
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
  moduleBytes = 0,
): Process {
  return {
    ...process,
    env: runnerEnv(process.env ?? [], layout, moduleBytes),
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
  moduleBytes = 0,
): Spec {
  const process = runnerProcess(spec.process ?? { cwd: "/" }, layout, wasmPath, data, moduleBytes);
  // Unprefixed, so it is the runner's and never the guest's (a container cannot always read its cgroup).
  const quota = cpuQuota(spec);
  if (quota !== undefined) process.env = [...(process.env ?? []), `${CPU_QUOTA_ENV}=${quota}`];
  return { ...spec, root: { ...spec.root, path: rootfs }, process };
}
