// How the runner's own files reach a Wasm container: as open file descriptors that runc passes to
// the container's process (`--preserve-fds`), never as paths in its file system. Shared by the
// host (which builds the process) and the runner (which closes them), so it stays import-free.

/** The environment variable that tells the runner which of its fds are which (JSON, RunnerLayout). */
export const RUNNER_ENV = "WASM_SHIM_RUNNER";
/** Every variable of the guest's environment reaches the runner under this prefix (see runner-spec.ts). */
export const GUEST_ENV_PREFIX = "WASM_SHIM_ENV_";
/** The container's CPU quota in CPUs (from its spec), for the runner: unprefixed, so not the guest's. */
export const CPU_QUOTA_ENV = "WASM_SHIM_CPU_QUOTA";

/** The fds of one runner process, from 3 upwards in this order. */
export interface RunnerLayout {
  /** How many fds runc passes: `--preserve-fds count` (3 … 3+count-1). */
  count: number;
  loader: number;
  binary: number;
  libs: number[];
  /** A directory of the executable's extracted assets (read-only), when it embeds any. */
  assets?: number;
  /**
   * The native helper on its own, when the executable has one: loaded from the directory fd, its
   * mapping would carry the asset's file name into /proc/self/maps, where the guest can read it.
   */
  native?: number;
  /** The files the engine's `prepare` named, by the name `run` sees them under, when it named any. */
  files?: Record<string, number>;
}

export function runnerLayout(
  libCount: number,
  assets: boolean,
  fileNames: readonly string[] = [],
  native = false,
): RunnerLayout {
  let next = 3;
  const loader = next++;
  const binary = next++;
  const libs = Array.from({ length: libCount }, () => next++);
  const layout: RunnerLayout = { count: 0, loader, binary, libs };
  if (assets) layout.assets = next++;
  if (native) layout.native = next++;
  if (fileNames.length > 0) layout.files = Object.fromEntries(fileNames.map((name) => [name, next++]));
  layout.count = next - 3;
  return layout;
}

/** The layout the host gave this process, or undefined when it is not a runner in a container. */
export function runnerLayoutFromEnv(env: NodeJS.ProcessEnv = process.env): RunnerLayout | undefined {
  const text = env[RUNNER_ENV];
  if (!text) return undefined;
  const layout = JSON.parse(text) as RunnerLayout;
  const fds = [
    layout.loader,
    layout.binary,
    ...layout.libs,
    layout.assets,
    layout.native,
    ...Object.values(layout.files ?? {}),
  ].filter((fd) => fd !== undefined);
  if (fds.some((fd) => !Number.isInteger(fd) || fd < 3 || fd >= 3 + layout.count))
    throw new Error(`${RUNNER_ENV}: bad layout ${text}`);
  return layout;
}

/** `/proc/self/fd/N`: how the loader, and the runner, name a file they were handed as fd N. */
export const fdPath = (fd: number): string => `/proc/self/fd/${fd}`;

/**
 * Refuses, in the calling thread, to load any module that is neither built in nor a data: URL.
 * The runner's code is all in the executable (or data: URLs of it); a module found by path would
 * come from the container (an image's /node_modules, $HOME/.node_modules), that is, from the
 * guest's side of the wall. Self-contained: its source also runs as the prologue of code assets.
 */
export function refuseContainerModules(): void {
  const { registerHooks, isBuiltin } = process.getBuiltinModule("node:module");
  registerHooks({
    resolve(specifier, context, next) {
      if (isBuiltin(specifier) || specifier.startsWith("data:")) return next(specifier, context);
      throw Object.assign(new Error(`the runner loads no module from the container's file system (${specifier})`), {
        code: "ERR_MODULE_NOT_FOUND",
      });
    },
  });
}
