// Run-time helpers for code that ships as a Node single executable application (SEA) built by
// tools/sea-build.mjs, and that must keep working when the same code runs as the plain
// dist/<name>.cjs bundle, as TypeScript source (tests, `node src/main.ts`), or inside a container
// where the binary is started through the host's dynamic loader.

import { externalAsset } from "./boot-addon.ts";

type SeaModule = typeof import("node:sea");

// getBuiltinModule rather than require/createRequire: this file is bundled to CJS (where
// import.meta.url is empty) but also runs as ESM source, and getBuiltinModule behaves the same in
// both, in SEA main scripts and in eval workers. It returns undefined on a Node built without SEA.
const sea = process.getBuiltinModule("node:sea") as SeaModule | undefined;

/**
 * The first argument of every worker thread that runs this bundle again (mainSource()): how the
 * bundle tells such a thread from a process's main thread without loading node:worker_threads,
 * which would cost every boot (`start`, `delete`) about 7 ms.
 */
export const THREAD_ARGV = "--wasm-shim-thread";

/** Whether this is a worker thread started on mainSource() (with `argv: [THREAD_ARGV]`). */
export const isBundleThread = (): boolean => process.argv[2] === THREAD_ARGV;

// tools/sea-build.mjs embeds the bundle under this asset name.
export const MAIN_ASSET = "main.cjs";

let cachedIsSea: boolean | undefined;

export function isSea(): boolean {
  cachedIsSea ??= sea !== undefined && sea.isSea();
  return cachedIsSea;
}

function hasSeaAsset(name: string): boolean {
  try {
    sea!.getRawAsset(name);
    return true;
  } catch {
    return false;
  }
}

export function seaAsset(name: string): string {
  if (!isSea()) throw new Error(`seaAsset(${JSON.stringify(name)}): not running as a single executable`);
  return sea!.getAsset(name, "utf8");
}

export interface Command {
  file: string;
  args: string[];
}

/** How to start this program again (the `start` action spawning its daemon), SEA or not. */
export function selfCommand(args: string[]): Command {
  if (isSea()) {
    return { file: process.execPath, args };
  }
  const script = process.argv[1];
  if (script === undefined) throw new Error("selfCommand: no main script in process.argv");
  return { file: process.execPath, args: [script, ...args] };
}

// The executable's boot script (cli/boot-main.ts), also kept as an asset for worker threads.
export const BOOT_ASSET = "boot.cjs";

let cachedMainSource: string | undefined;

// Source for `new Worker(mainSource(), { eval: true })`. A SEA cannot start a worker from
// __filename (that is the binary, or the loader), so a worker starts from the boot script's asset,
// which compiles the bundle as the main thread did (runMainAsset): 68 kB of source to scan instead
// of the bundle's 0.7-1.9 MB, and no copy of the bundle in the worker's heap. A plain bundle is
// required by path instead, so that __filename in the worker is still the bundle (which finds its
// assets beside it; see assets.ts).
export function mainSource(): string {
  if (cachedMainSource !== undefined) return cachedMainSource;
  if (isSea()) {
    cachedMainSource = hasSeaAsset(BOOT_ASSET) ? seaAsset(BOOT_ASSET) : seaAsset(MAIN_ASSET);
  } else if (runningAsCjsBundle()) {
    cachedMainSource = `require(${JSON.stringify(__filename)});\n`;
  } else {
    throw new Error("mainSource: only available in the built bundle (dist/*.cjs) or the single executable");
  }
  return cachedMainSource;
}

/** The bundle's code cache, made by tools/sea-build.mjs with the same parameters as below. */
export const MAIN_CACHE_ASSET = "main.cjs.cache";
const BUNDLE_PARAMS = ["exports", "require", "module", "__filename", "__dirname"];

/** How this process compiled the bundle: from the build's code cache, or from its source. */
export type CodeCache = "used" | "rejected" | "none";
/** Where the bundle's source lives: the executable's shared pages, or a copy in V8's heap. */
export type BundleSource = "external" | "heap";
interface BootRecord {
  codeCache: CodeCache;
  source: BundleSource;
}
// The boot script and the bundle each hold their own copy of this module.
const BOOT_KEY = Symbol.for("containerd-shim.boot");
const bootRecord = () => (globalThis as Record<symbol, BootRecord | undefined>)[BOOT_KEY];

export const bundleCodeCache = (): CodeCache | undefined => bootRecord()?.codeCache;
export const bundleSource = (): BundleSource | undefined => bootRecord()?.source;

/**
 * Compiles and runs the whole bundle in this process, as if it were the main script: the SEA's
 * main script is the small boot script (cli/boot.ts), and the bundle is its asset. With the
 * build's code cache V8 skips scanning the source: 1.4 against 10 ms for node's bundle, 2 against
 * 21 ms for jco's, in the daemon and in every runner. V8 refuses a cache made by another V8 or
 * with other flags, and then compiles the source. Its import() goes to Node's own loader, as the
 * main script's does. The source is a string over the executable's own pages when the native
 * helper can be loaded first (boot-addon.ts), else a copy in V8's heap.
 */
export function runMainAsset(): void {
  const vm = process.getBuiltinModule("node:vm") as typeof import("node:vm");
  let cachedData: Uint8Array | undefined;
  try {
    cachedData = new Uint8Array(sea!.getAsset(MAIN_CACHE_ASSET));
  } catch {
    // built without one (another architecture's executable)
  }
  const external = externalAsset(sea!, MAIN_ASSET);
  const run = vm.compileFunction(external ?? seaAsset(MAIN_ASSET), BUNDLE_PARAMS, {
    filename: process.execPath,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const codeCache: CodeCache = cachedData === undefined ? "none" : run.cachedDataRejected ? "rejected" : "used";
  const record: BootRecord = { codeCache, source: external === undefined ? "heap" : "external" };
  (globalThis as Record<symbol, unknown>)[BOOT_KEY] = record;
  const mod = { exports: {} };
  const dir = process.execPath.slice(0, process.execPath.lastIndexOf("/")) || "/";
  run.call(mod.exports, mod.exports, require, mod, process.execPath, dir);
}

// The bundle is one CommonJS file, so __filename is the bundle itself. As ESM source __filename is
// undefined; in an eval worker it is "[worker eval]"; test runners may define it for a .ts file.
function runningAsCjsBundle(): boolean {
  return typeof __filename === "string" && /\.c?js$/.test(__filename);
}
