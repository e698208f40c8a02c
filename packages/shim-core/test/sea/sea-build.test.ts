// tools/sea-build.mjs and tools/sea-assets.mjs end to end, on a made-up package whose npm
// dependency loads a wasm file, a worker and the worker's own side files by URL, the way
// @wasmer/sdk and preview2-shim do: as a plain bundle, as a single executable run from an empty
// folder (directly and through the host's loader), with the preferred asset root unusable, and
// built twice to the same bytes, with and without the code cache. It is named as a shim is, so
// its executable boots through shim-core's boot script, which compiles the bundle from its asset
// with the bundle's code cache.

import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const seaModule = join(repoRoot, "packages/shim-core/src/sea/sea.ts");
const assetsModule = join(repoRoot, "packages/shim-core/src/sea/assets.ts");
const NAME = "containerd-shim-probe-v1";
const HOST_LOADER = "/lib64/ld-linux-x86-64.so.2";

const sources: Record<string, string | Buffer> = {
  "package.json": JSON.stringify({ name: "probe", private: true, type: "module" }),
  "src/own.txt": "own file\n",
  "src/main.ts": `import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { minify } from "oxc-minify";
import { engine } from "fake-engine";
import { bundleCodeCache, mainSource } from ${JSON.stringify(seaModule)};
import { embeddedBytes } from ${JSON.stringify(assetsModule)};

const own = () => readFileSync(new URL("./own.txt", import.meta.url), "utf8").trim();

class Text {
  /** A comment esbuild keeps, with non-ASCII… in it — which would make V8 store the source at two bytes a character. */
  get value() { return "naïve — 😀"; }
}

if (isMainThread) {
  (async () => {
    process.emitWarning("should not be printed", "ExperimentalWarning");
    let stub = "";
    try { minify("x.js", "x"); } catch (e) { stub = (e as Error).message; }
    const w = new Worker(mainSource(), { eval: true });
    const fromEvalWorker = await new Promise((res) => w.once("message", res));
    console.log(JSON.stringify({
      own: own(),
      engine: await engine(),
      fromEvalWorker,
      require: typeof createRequire(import.meta.url),
      resolve: import.meta.resolve("node:fs"),
      dynamicImport: typeof (await import("node:os")).tmpdir,
      stub,
      text: new Text().value,
      codeCache: bundleCodeCache() ?? "plain bundle",
      embedded: new TextDecoder().decode(embeddedBytes(new URL("./own.txt", import.meta.url)) ?? new Uint8Array()).trim(),
    }));
  })();
} else {
  parentPort!.postMessage({ own: own(), codeCache: bundleCodeCache() ?? "plain bundle" });
}
`,
  "node_modules/fake-engine/package.json": JSON.stringify({
    name: "fake-engine",
    type: "module",
    exports: "./index.js",
  }),
  // node:crypto is loaded where it is first used (--lazy-builtin node:crypto), as shim-wasmer does
  // the SDK's built-ins.
  "node_modules/fake-engine/index.js": `import { readFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { randomUUID } from "node:crypto";
import { optional } from "./optional.mjs";
const cryptoLoaded = () => process.moduleLoadList.includes("NativeModule crypto");
const atLoad = cryptoLoaded();
export const stubbed = (f) => { try { return f(); } catch (e) { return e.message; } };
export async function engine() {
  const wasm = await readFile(new URL("./core.wasm", import.meta.url));
  const exports = WebAssembly.Module.exports(await WebAssembly.compile(wasm)).length;
  const w = new Worker(new URL("./worker.js", import.meta.url));
  const fromWorker = await new Promise((res, rej) => { w.once("message", res); w.once("error", rej); });
  const lazyBuiltin = { atLoad, uuid: randomUUID().length, afterUse: cryptoLoaded() };
  return { wasmBytes: wasm.length, exports, fromWorker, optional: stubbed(optional), lazyBuiltin };
}
`,
  // Stubbed by its relative name (--stub ./optional.mjs), as shim-wasmer does the SDK's acorn: an
  // .mjs file, which esbuild would take for ESM, whose stub is CommonJS all the same.
  "node_modules/fake-engine/optional.mjs": 'export function optional() { return "the real module"; }\n',
  // An empty module: magic and version.
  "node_modules/fake-engine/core.wasm": Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  "node_modules/fake-engine/worker.js": `import { readFileSync } from "node:fs";
import { parentPort } from "node:worker_threads";
import { shout } from "./lib/shout.js";
import eolLength from "./lib/eol.cjs";
import { optional } from "./optional.mjs";
const data = readFileSync(new URL("./lib/data.txt", import.meta.url), "utf8");
let stub;
try { optional(); } catch (e) { stub = e.message; }
parentPort.postMessage({ data: shout(data), eolLength, optional: stub });
`,
  "node_modules/fake-engine/lib/shout.js": "export const shout = (s) => s.trim().toUpperCase();\n",
  // CommonJS requiring a built-in: esbuild's ESM output needs a real require for it.
  "node_modules/fake-engine/lib/eol.cjs": 'module.exports = require("node:os").EOL.length;\n',
  "node_modules/fake-engine/lib/data.txt": "data beside the worker\n",
};

const OPTIONAL_STUB =
  "./optional.mjs.optional: ./optional.mjs is not embedded in this executable (stubbed by tools/sea-assets.mjs)";
const expected = {
  own: "own file",
  engine: {
    wasmBytes: 8,
    exports: 0,
    fromWorker: { data: "DATA BESIDE THE WORKER", eolLength: 1, optional: OPTIONAL_STUB },
    optional: OPTIONAL_STUB,
    lazyBuiltin: { atLoad: false, uuid: 36, afterUse: true },
  },
  // An eval worker of the executable starts from the boot script, which compiles the bundle as
  // the main thread did.
  fromEvalWorker: { own: "own file", codeCache: "used" },
  require: "function",
  resolve: "node:fs",
  dynamicImport: "function",
  stub: "oxc-minify.minify: oxc-minify is not embedded in this executable (stubbed by tools/sea-assets.mjs)",
  text: "naïve — 😀",
  // How the executable's boot script compiled the bundle: with the build's code cache.
  codeCache: "used",
  // An asset's bytes read where the executable holds them.
  embedded: "own file",
};

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("sea-build with embedded assets", () => {
  let tmp: string;
  let pkg: string;
  let empty: string;

  const seaBuild = (...args: string[]) =>
    execFileSync(
      process.execPath,
      [
        join(repoRoot, "tools/sea-build.mjs"),
        "src/main.ts",
        NAME,
        "--stub",
        "./optional.mjs",
        "--lazy-builtin",
        "node:crypto",
        ...args,
      ],
      {
        cwd: pkg,
        encoding: "utf8",
        stdio: "pipe",
      },
    );
  const run = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(cmd, args, {
      cwd: empty,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    });
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      json: r.status === 0 ? JSON.parse(r.stdout) : undefined,
    };
  };

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "sea-build-test-"));
    pkg = join(tmp, "pkg");
    empty = join(tmp, "empty");
    mkdirSync(empty);
    for (const [path, content] of Object.entries(sources)) {
      mkdirSync(dirname(join(pkg, path)), { recursive: true });
      writeFileSync(join(pkg, path), content);
    }
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it("bundles the referenced files as assets that a plain bundle finds beside it", () => {
    seaBuild("--bundle-only");
    const assets = readdirSync(join(pkg, "dist", `${NAME}.assets`)).sort();
    expect(assets.map((f) => f.replace(/-[0-9a-f]{12}\./, "-HASH."))).toEqual([
      "core-HASH.wasm",
      "data-HASH.txt",
      "own-HASH.txt",
      "sea-assets.json",
      "worker-HASH.mjs",
    ]);
    const bundle = readFileSync(join(pkg, "dist", `${NAME}.cjs`), "utf8");
    expect(bundle).toContain("A comment esbuild keeps");
    expect(bundle.match(/[\u0080-\uffff]/g)).toBeNull();
    const r = run(process.execPath, [join(pkg, "dist", `${NAME}.cjs`)]);
    expect(r.json).toEqual({
      ...expected,
      fromEvalWorker: { own: "own file", codeCache: "plain bundle" },
      codeCache: "plain bundle",
      embedded: "",
    });
    // Plain node prints the warning the executables are built to suppress (checked below).
    expect(r.stderr).toMatch(/ExperimentalWarning: should not be printed/);
  });

  it("makes an executable that runs from an empty folder and extracts its assets once", () => {
    seaBuild("--outdir", join(tmp, "bin1"));
    const exe = join(tmp, "bin1", NAME);
    const assetRoot = join(tmp, "assets");
    mkdirSync(assetRoot);
    const first = run(exe, [], { WASM_SHIM_ASSET_DIR: assetRoot });
    // --disable-warning=ExperimentalWarning is baked in: nothing on stderr.
    expect(first.stderr).toBe("");
    expect(first.json).toEqual(expected);
    const [dir, ...others] = readdirSync(assetRoot);
    expect(others).toEqual([]);
    expect(dir).toMatch(new RegExp(`^${NAME}-[0-9a-f]{16}$`));
    expect(readdirSync(join(assetRoot, dir!)).length).toBe(4);

    const again = run(exe, [], { WASM_SHIM_ASSET_DIR: assetRoot });
    expect(again.json).toEqual(expected);
    expect(readdirSync(assetRoot)).toEqual([dir]);
  }, 180_000);

  it.skipIf(!existsSync(HOST_LOADER))("runs through the host's loader, falling back to a temporary root", () => {
    const exe = join(tmp, "bin1", NAME);
    writeFileSync(join(tmp, "not-a-dir"), "");
    mkdirSync(join(tmp, "t"));
    const r = run(HOST_LOADER, ["--library-path", "/lib/x86_64-linux-gnu", exe], {
      WASM_SHIM_ASSET_DIR: join(tmp, "not-a-dir/x"),
      TMPDIR: join(tmp, "t"),
    });
    expect(r.stderr).toBe("");
    expect(r.json).toEqual(expected);
    expect(readdirSync(join(tmp, "t", `containerd-shim-assets-${process.getuid?.() ?? 0}`))).toHaveLength(1);
  });

  it("gives the same bytes when built again", () => {
    seaBuild("--outdir", join(tmp, "bin2"));
    expect(sha256(join(tmp, "bin2", NAME))).toBe(sha256(join(tmp, "bin1", NAME)));
  }, 180_000);

  // Off by default (slower on Node 24), but it must keep working: import() and eval workers run,
  // V8 accepts the cache (a rejected one warns on stderr), and the bytes are still repeatable.
  it("works with --code-cache", () => {
    seaBuild("--outdir", join(tmp, "cc1"), "--code-cache");
    seaBuild("--outdir", join(tmp, "cc2"), "--code-cache");
    const exe = join(tmp, "cc1", NAME);
    expect(sha256(join(tmp, "cc2", NAME))).toBe(sha256(exe));
    expect(sha256(exe)).not.toBe(sha256(join(tmp, "bin1", NAME)));
    const r = run(exe, [], { WASM_SHIM_ASSET_DIR: join(tmp, "assets") });
    expect(r.stderr).toBe("");
    expect(r.json).toEqual(expected);
  }, 180_000);
});
