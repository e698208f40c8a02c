// The run-time half of tools/sea-assets.mjs, injected by esbuild into every bundle sea-build makes:
// a file named relative to import.meta.url in bundled code has become `__assetURL(key)`, and
// import.meta.{url,dirname,filename,resolve} read the `__importMeta*` values below.
//
// - Plain bundle (`node dist/<name>.cjs`): assets are files in dist/<name>.assets/.
// - Single executable: the assets are inside the binary, and workers and wasm loaders want paths,
//   so on first use every asset is written once to a content-addressed directory
//   `<root>/<name>-<hash>/<key>` (each file written beside its final name and renamed into place,
//   so concurrent processes never see half a file), and later processes only check sizes.
//   Roots, in order: $WASM_SHIM_ASSET_DIR or /run/containerd-shim-assets (root on the host), then
//   `<os.tmpdir()>/containerd-shim-assets-<uid>` and `/dev/shm/containerd-shim-assets-<uid>`,
//   for when the first cannot be created: a container's read-only root (the runner), a host
//   without a writable /run. Shared roots (the temporary ones) are only used when the directories
//   are ours and writable by nobody else.
// - The runner in a Wasm container: nothing of the runner may be in the container's file system
//   (docs/architecture.md), so there is no directory to extract into. Code assets (the .mjs files
//   workers start from) become data: URLs of the bytes embedded in the executable, so they work
//   at any time; other assets are read from the host's directory, handed over as an open fd
//   (`/proc/self/fd/N/<key>`), until releaseRunnerAssets closes it before the guest runs.
//
// Nothing here runs unless a bundle uses it: everything is lazy or marked pure.

import { closeSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type AssetManifest, MANIFEST_ASSET, ownAssetRoot } from "./asset-manifest.ts";
import { isSea } from "./sea.ts";
import { fdPath, refuseContainerModules, runnerLayoutFromEnv } from "../wasm/runner-layout.ts";

export { type AssetManifest, DEFAULT_ASSET_ROOT, MANIFEST_ASSET } from "./asset-manifest.ts";

export interface AssetRoot {
  path: string;
  /** A directory others can write to: only used when it and our directory in it are ours alone. */
  shared: boolean;
}

export function assetRoots(env: NodeJS.ProcessEnv = process.env): AssetRoot[] {
  const uid = process.getuid?.() ?? 0;
  const roots: AssetRoot[] = [
    { path: ownAssetRoot(env), shared: false },
    { path: join(tmpdir(), `containerd-shim-assets-${uid}`), shared: true },
    { path: `/dev/shm/containerd-shim-assets-${uid}`, shared: true },
  ];
  return roots.filter((r, i) => roots.findIndex((o) => o.path === r.path) === i);
}

/**
 * Makes sure every file of `manifest` is in `<root>/<manifest.dir>/` for the first root where that
 * works, and returns that directory. `read(key)` gives an asset's bytes; it is only called for
 * files that are missing or have the wrong size.
 */
export function extractAssets(
  manifest: AssetManifest,
  read: (key: string) => Uint8Array,
  roots: AssetRoot[] = assetRoots(),
): string {
  const failures: string[] = [];
  for (const root of roots) {
    try {
      // The root's parent must exist: no /run is created inside a container's image.
      mkdirIfMissing(root.path);
      // Checked before anything is created in it: a root someone else owns gets nothing of ours.
      if (root.shared) assertPrivate(root.path);
      const dir = join(root.path, manifest.dir);
      mkdirIfMissing(dir);
      if (root.shared) assertPrivate(dir);
      for (const [key, size] of Object.entries(manifest.files)) ensureFile(dir, key, size, read);
      return dir;
    } catch (err) {
      failures.push(`${root.path}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot extract the executable's assets (${failures.join("; ")})`);
}

function mkdirIfMissing(path: string): void {
  try {
    if (statSync(path).isDirectory()) return;
  } catch {}
  mkdirSync(path, { mode: 0o755 });
}

function assertPrivate(path: string): void {
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new Error(`${path} is not a directory`);
  if (st.uid !== process.geteuid?.()) throw new Error(`${path} belongs to uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${path} is writable by others`);
}

function ensureFile(dir: string, key: string, size: number, read: (key: string) => Uint8Array): void {
  const file = join(dir, key);
  try {
    const st = statSync(file);
    if (st.isFile() && st.size === size) return;
  } catch {}
  // node:crypto on first use only: every boot of the executable evaluates this module, and most
  // (the runner, `-v`) never extract anything.
  const { randomBytes } = process.getBuiltinModule("node:crypto");
  const tmp = join(dir, `.${key}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, read(key), { flag: "wx", mode: 0o644 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

// --- what the bundle calls -----------------------------------------------------------------------

type SeaModule = typeof import("node:sea");

/** The bundle file when running as a plain dist/<name>.cjs (not in an eval worker, not a SEA). */
function bundleFile(): string | undefined {
  if (isSea()) return undefined;
  return typeof __filename === "string" && isAbsolute(__filename) && /\.c?js$/.test(__filename)
    ? __filename
    : undefined;
}

let assetDir: string | undefined;
/** In a runner: the fd of the host's asset directory, until released. */
let runnerAssets: { fd: number | undefined } | undefined;

function runnerAssetState(): { fd: number | undefined } | undefined {
  if (runnerAssets === undefined && isSea()) {
    const layout = runnerLayoutFromEnv();
    if (layout) runnerAssets = { fd: layout.assets };
  }
  return runnerAssets;
}

/**
 * Closes the runner's asset directory: called once the engine has loaded, before the guest runs,
 * so the guest cannot reach it through /proc/self/fd. Later, only code assets can be had.
 */
export function releaseRunnerAssets(): void {
  const state = runnerAssetState();
  if (state?.fd === undefined) return;
  try {
    closeSync(state.fd);
  } catch {}
  state.fd = undefined;
}

function assetDirectory(): string {
  const runner = runnerAssetState();
  if (runner) {
    if (runner.fd === undefined)
      throw new Error("the runner's files are closed once the guest runs: an engine must read its assets in load()");
    return fdPath(runner.fd);
  }
  if (assetDir !== undefined) return assetDir;
  if (isSea()) {
    const sea = process.getBuiltinModule("node:sea") as SeaModule;
    const manifest = JSON.parse(sea.getAsset(MANIFEST_ASSET, "utf8")) as AssetManifest;
    assetDir = extractAssets(manifest, (key) => new Uint8Array(sea.getAsset(key)));
  } else {
    const bundle = bundleFile();
    if (bundle === undefined)
      throw new Error("embedded assets are only available in the built bundle (dist/*.cjs) or the single executable");
    assetDir = bundle.replace(/\.c?js$/, ".assets");
  }
  return assetDir;
}

/**
 * An asset's bytes where the executable holds them (node:sea's getRawAsset: its own file-backed
 * pages, shared by all its processes), for a reader that only reads them, such as a wasm compile
 * (V8 copies the bytes it keeps); undefined outside a single executable, where the caller reads
 * `url` as a file. Read as a file, wasmer's 4.7 MB runtime was copied into fresh pages first:
 * 20 ms of each of its runners here.
 */
export function embeddedBytes(url: URL): Uint8Array<ArrayBuffer> | undefined {
  if (!isSea()) return undefined;
  const key = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  try {
    return new Uint8Array((process.getBuiltinModule("node:sea") as SeaModule).getRawAsset(key));
  } catch {
    return undefined;
  }
}

/**
 * The directory holding this executable's extracted assets (extracting them if needed), or
 * undefined when it embeds none. The shim mounts it read-only into Wasm containers, so runners
 * use the host's copy instead of writing one into every container.
 */
export function embeddedAssetDirectory(): string | undefined {
  if (!isSea()) return undefined;
  if (assetDir !== undefined) return assetDir;
  try {
    (process.getBuiltinModule("node:sea") as SeaModule).getAsset(MANIFEST_ASSET);
  } catch {
    return undefined;
  }
  return assetDirectory();
}

const codeUrls = new Map<string, URL>();

/**
 * A code asset as a data: URL, for the runner. It starts by giving itself an import.meta.url under
 * /proc (where an image cannot put files): bundled code passes it to createRequire, which rejects
 * data: URLs, and a sibling named relative to it is simply not found. Then, as the thread it
 * starts may load modules later, it refuses any from the container's file system.
 */
function codeAssetURL(key: string): URL {
  let url = codeUrls.get(key);
  if (!url) {
    const sea = process.getBuiltinModule("node:sea") as SeaModule;
    const prologue = `import.meta.url = ${JSON.stringify(`file:///proc/wasm-shim-assets/${key}`)};\n(${refuseContainerModules.toString()})();\n`;
    url = new URL(
      `data:text/javascript;base64,${Buffer.concat([Buffer.from(prologue), Buffer.from(sea.getAsset(key))]).toString("base64")}`,
    );
    codeUrls.set(key, url);
  }
  return url;
}

/** What a `new URL` of a relative file name against import.meta.url in bundled code became. */
export function __assetURL(key: string): URL {
  if (key.endsWith(".mjs") && runnerAssetState()) return codeAssetURL(key);
  return pathToFileURL(join(assetDirectory(), key));
}

function moduleFile(): string {
  return bundleFile() ?? process.execPath;
}

function moduleUrl(): string {
  return pathToFileURL(moduleFile()).href;
}

function moduleDir(): string {
  return dirname(moduleFile());
}

// import.meta.url, .filename and .dirname of every bundled module: the bundle, or the executable.
// One argument-less pure call each, so esbuild drops what a bundle does not use.
export const __importMetaUrl: string = /* @__PURE__ */ moduleUrl();
export const __importMetaFilename: string = /* @__PURE__ */ moduleFile();
export const __importMetaDirname: string = /* @__PURE__ */ moduleDir();

/** import.meta.resolve: built-ins, and packages beside a plain bundle; nothing in an executable. */
export function __importMetaResolve(specifier: string): string {
  if (isBuiltin(specifier)) return specifier;
  const bundle = bundleFile();
  if (bundle !== undefined) {
    try {
      return pathToFileURL(createRequire(bundle).resolve(specifier)).href;
    } catch {}
  }
  throw new Error(
    `import.meta.resolve(${JSON.stringify(specifier)}): only built-in modules can be resolved from a bundled executable`,
  );
}
