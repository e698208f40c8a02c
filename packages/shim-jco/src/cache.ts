import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ENTRY_MODULE, transpileModule, type Transpiled } from "./transpile.ts";
import { ENGINE_VERSION } from "./version.ts";

// Loaded when a cache entry is made or looked up (in the daemon): a runner would pay 8 ms for it.
const crypto = () => process.getBuiltinModule("node:crypto");

export const CACHE_ENV = "WASM_SHIM_JCO_CACHE";
export const DEFAULT_CACHE_DIR = "/var/lib/containerd-shim-jco-v1/cache";
const MANIFEST = "manifest.json";

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env[CACHE_ENV] || DEFAULT_CACHE_DIR;
}

/** One entry per module and engine version: a new shim never runs what an older one wrote. */
export function cacheKey(digest: string): string {
  return crypto().createHash("sha256").update(`${ENGINE_VERSION}\n${digest}`).digest("hex");
}

/** Written last into an entry; an entry whose files do not match it is not used. */
export interface Manifest {
  engine: string;
  digest: string;
  exports: string[];
  files: Record<string, string>;
}

const sha256 = (bytes: Uint8Array) => crypto().createHash("sha256").update(bytes).digest("hex");

/** An intact entry's transpile output, read back from its files. */
export async function readTranspiled(dir: string, manifest: Manifest): Promise<Transpiled> {
  const files: Record<string, Uint8Array> = {};
  for (const name of Object.keys(manifest.files)) files[name] = new Uint8Array(await readFile(join(dir, name)));
  return { files, exports: manifest.exports };
}

/** The entry's manifest when every file it lists is intact, else undefined. */
export async function readEntry(dir: string, digest: string): Promise<Manifest | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as Manifest;
    if (manifest.engine !== ENGINE_VERSION || manifest.digest !== digest || !(ENTRY_MODULE in manifest.files))
      return undefined;
    for (const [name, hash] of Object.entries(manifest.files)) {
      if (sha256(await readFile(join(dir, name))) !== hash) return undefined;
    }
    return manifest;
  } catch {
    return undefined;
  }
}

export interface CacheResult {
  key: string;
  manifest: Manifest;
  hit: boolean;
}

/**
 * Transpiles `module` into `root/<key>` unless an intact entry is already there. Entries are
 * written into a private directory and renamed into place, so a concurrent Create (another shim
 * daemon) sees either no entry or a whole one; when two race, the first rename wins.
 */
export async function ensureTranspiled(
  root: string,
  module: Uint8Array,
  path: string,
  digest: string,
  log: (msg: string) => void,
  precompiled?: Transpiled,
  transpile: (module: Uint8Array, path: string) => Promise<Transpiled> = transpileModule,
): Promise<CacheResult> {
  const key = cacheKey(digest);
  const dir = join(root, key);
  const cached = await readEntry(dir, digest);
  if (cached) {
    log(`transpile cache hit ${key}`);
    return { key, manifest: cached, hit: true };
  }
  if (precompiled) {
    const manifest = await writeEntry(root, key, digest, precompiled);
    log(`transpile output from containerd's content store written into ${key}`);
    return { key, manifest, hit: false };
  }
  const t0 = performance.now();
  const out = await transpile(module, path);
  const manifest = await writeEntry(root, key, digest, out);
  log(`transpiled in ${Math.round(performance.now() - t0)} ms by process ${out.pid ?? process.pid} into ${key}`);
  return { key, manifest, hit: false };
}

async function writeEntry(root: string, key: string, digest: string, out: Transpiled): Promise<Manifest> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, key);
  const tmp = join(root, `.tmp-${key}-${process.pid}-${crypto().randomBytes(4).toString("hex")}`);
  // The shim's alone: a container is sent its own entry's files (engine.ts), never a path here.
  await mkdir(tmp, { mode: 0o700 });
  await chmod(tmp, 0o700);
  try {
    const manifest: Manifest = { engine: ENGINE_VERSION, digest, exports: out.exports, files: {} };
    for (const [name, bytes] of Object.entries(out.files)) {
      await writeFile(join(tmp, name), bytes, { mode: 0o600 });
      manifest.files[name] = sha256(bytes);
    }
    await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
    try {
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      const other = await readEntry(dir, digest);
      if (other) return other;
      // A damaged entry: rename cannot replace a non-empty directory, so move it aside first.
      const trash = join(root, `.trash-${key}-${process.pid}-${crypto().randomBytes(4).toString("hex")}`);
      await rename(dir, trash);
      await rename(tmp, dir);
      await rm(trash, { recursive: true, force: true });
    }
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
