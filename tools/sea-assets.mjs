// Embeds the files that bundled code finds next to itself: an esbuild plugin for tools/sea-build.mjs.
//
// npm engines load siblings by URL, `new URL("./x.wasm", import.meta.url)` (wasm blobs, worker
// entry points, side modules imported by workers), which a bundle breaks twice: esbuild empties
// import.meta in CJS output, and the files are not in the executable. Here:
//
//   - every `new URL("<relative>", import.meta.url)` whose target is an existing file becomes
//     `__assetURL("<key>")`. Keys are flat, `<stem>-<contenthash>.<ext>`, so one directory holds
//     all of them and one file referenced from many places is stored once;
//   - a referenced .js/.mjs/.cjs/.ts file (a worker, a module a worker imports) is bundled by
//     esbuild into one self-contained ESM asset, `<stem>-<hash>.mjs`, with this same rewriting
//     applied recursively, except that inside an asset the URL stays relative
//     (`new URL("./<key>", import.meta.url)`): assets always sit side by side;
//   - any other file (.wasm, .json, ...) is copied as it is;
//   - `import.meta.url`, `.dirname`, `.filename` and `.resolve` in the main bundle are defined to
//     helpers, so `createRequire(import.meta.url)` and friends get a real value;
//   - packages in `stubs` (default: oxc-minify, a native addon jco-transpile only uses to minify)
//     resolve to a module whose every export throws a clear error when called;
//   - built-in modules in `lazyBuiltins`, imported by a dependency (a file under node_modules),
//     resolve to a module whose properties are the built-in's, loaded at the first one read;
//   - `replace` maps a referenced file to the file embedded in its place (sea-build: the native
//     helper compiled for the target architecture instead of the host's).
//
// The helpers (`__assetURL` and the import.meta replacements) come from
// packages/shim-core/src/sea/assets.ts, injected into the bundle; in a single executable it
// extracts the assets once to a content-addressed directory (see that file). sea-build writes the
// assets and the manifest `sea-assets.json` to dist/<name>.assets/ (where a plain
// `node dist/<name>.cjs` finds them) and embeds them in the executable.
//
// Not covered: a URL built from a variable (`new URL(name, import.meta.url)`) keeps pointing
// beside the executable; a native addon loaded through createRequire (preview2-shim's optional
// jco-node-fs, used only for fadvise) is not embedded, so that call fails.

import { createHash } from "node:crypto";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ASSET_RUNTIME = join(repoRoot, "packages/shim-core/src/sea/assets.ts");
export const MANIFEST_ASSET = "sea-assets.json";
export const DEFAULT_STUBS = ["oxc-minify"];

const SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const CODE = /\.(?:[cm]?[jt]s)$/;
const LOADERS = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".jsx": "jsx" };
// `new URL("lit", import.meta.url)` with a plain string literal; template literals only without `${`.
const URL_REF = /new\s+URL\(\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)'|`([^`\\$\n]*)`)\s*,\s*import\.meta\.url\s*\)/g;

const hash = (data) => createHash("sha256").update(data).digest("hex");

/**
 * One collector per executable. `esbuildOptions` go into the main bundle's build; afterwards
 * `assets` maps every key to its bytes.
 *
 * @param {{ target: string, stubs?: string[], lazyBuiltins?: string[], replace?: Map<string, string> }} opts
 */
export function createAssetCollector({ target, stubs = DEFAULT_STUBS, lazyBuiltins = [], replace = new Map() }) {
  /** @type {Map<string, Buffer>} */
  const assets = new Map();
  /** @type {Map<string, Promise<string>>} absolute path of a referenced file -> its key */
  const keys = new Map();

  const addAsset = (stem, ext, data) => {
    const key = `${stem}-${hash(data).slice(0, 12)}${ext}`;
    assets.set(key, data);
    return key;
  };

  // A referenced code file becomes one ESM file: workers are started from a path, and what they
  // import is no longer next to them.
  async function bundleAsset(file, chain) {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      outfile: "asset.mjs",
      platform: "node",
      format: "esm",
      target,
      legalComments: "none",
      logLevel: "silent",
      plugins: [
        stubPlugin(stubs),
        lazyBuiltinPlugin(lazyBuiltins),
        urlPlugin({ nested: true, chain: [...chain, file] }),
      ],
    }).catch((err) => {
      throw new Error(`bundling ${relative(repoRoot, file)} as an asset failed: ${err.message}`);
    });
    for (const w of result.warnings) console.error(`[sea-assets] warning in ${relative(repoRoot, file)}: ${w.text}`);
    let code = result.outputFiles[0].text;
    // esbuild turns a require() it could not inline (a built-in, from CommonJS code) into a call
    // that throws in ESM unless a `require` exists; give the module one. Only when esbuild emitted
    // that helper: it then renamed the module's own top-level `require`s out of the way.
    if (code.includes("Dynamic require of")) {
      code = `import { createRequire as __seaCreateRequire } from "node:module";\nconst require = __seaCreateRequire(import.meta.url);\n${code}`;
    }
    return addAsset(basename(file, extname(file)), ".mjs", Buffer.from(code));
  }

  function keyFor(file, chain) {
    if (chain.includes(file)) {
      throw new Error(
        `asset cycle: ${[...chain, file].map((f) => relative(repoRoot, f)).join(" -> ")} (a bundled asset cannot name itself)`,
      );
    }
    let key = keys.get(file);
    if (key === undefined) {
      key = CODE.test(file)
        ? bundleAsset(file, chain)
        : Promise.resolve(
            addAsset(basename(file, extname(file)), extname(file), readFileSync(replace.get(file) ?? file)),
          );
      keys.set(file, key);
    }
    return key;
  }

  /** @param {{ nested: boolean, chain: string[] }} mode */
  function urlPlugin({ nested, chain }) {
    return {
      name: "sea-assets",
      setup(b) {
        b.onLoad({ filter: SOURCE }, async (args) => {
          if (args.namespace !== "file") return undefined;
          const text = readFileSync(args.path, "utf8");
          if (!text.includes("import.meta.url")) return undefined;
          const warnings = [];
          const refs = [];
          for (const m of text.matchAll(URL_REF)) {
            const spec = m[1] ?? m[2] ?? m[3];
            if (/^[a-z][a-z\d+.-]*:|^[/?#]|^$/i.test(spec) || /[?#]/.test(spec)) continue;
            let target = fileURLToPath(new URL(spec, pathToFileURL(args.path)));
            let isFile = false;
            try {
              isFile = statSync(target).isFile();
              // One file reached through a pnpm symlink and through its real path is one asset.
              target = realpathSync(target);
            } catch {}
            if (!isFile) {
              warnings.push({
                text: `new URL(${JSON.stringify(spec)}, import.meta.url) names no file (${relative(repoRoot, target)}); left as it is`,
              });
              continue;
            }
            refs.push({ start: m.index, end: m.index + m[0].length, key: keyFor(target, chain) });
          }
          if (refs.length === 0)
            return warnings.length > 0 ? { warnings, contents: text, loader: loaderOf(args.path) } : undefined;
          let out = "";
          let pos = 0;
          for (const r of refs) {
            const key = await r.key;
            out +=
              text.slice(pos, r.start) +
              (nested
                ? `new URL(${JSON.stringify(`./${key}`)}, import.meta.url)`
                : `__assetURL(${JSON.stringify(key)})`);
            pos = r.end;
          }
          out += text.slice(pos);
          return { contents: out, loader: loaderOf(args.path), resolveDir: dirname(args.path), warnings };
        });
      },
    };
  }

  return {
    assets,
    esbuildOptions: {
      plugins: [stubPlugin(stubs), lazyBuiltinPlugin(lazyBuiltins), urlPlugin({ nested: false, chain: [] })],
      inject: [ASSET_RUNTIME],
      define: {
        "import.meta.url": "__importMetaUrl",
        "import.meta.dirname": "__importMetaDirname",
        "import.meta.filename": "__importMetaFilename",
        "import.meta.resolve": "__importMetaResolve",
      },
    },
    /** The manifest the runtime reads: the directory name and every key with its size. */
    manifest(name) {
      const files = Object.fromEntries([...assets.keys()].sort().map((k) => [k, assets.get(k).length]));
      const id = hash(JSON.stringify(files)).slice(0, 16);
      return { dir: `${name}-${id}`, files };
    },
  };
}

function loaderOf(path) {
  return LOADERS[extname(path)] ?? "js";
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

// A built-in module that a dependency imports at its top but may never use: the wasmer SDK loads
// node:crypto, node:net and node:dns for a package cache and a network that the runner leaves
// off, 5-12 ms each at every boot. The module that stands for it reads every property from the
// built-in, which Node loads at the first one read. Only for a dependency's imports: our own code
// loads what it seldom needs with process.getBuiltinModule where it uses it.
function lazyBuiltinPlugin(names) {
  const filter = new RegExp(`^(?:${names.map(escapeRegExp).join("|")})$`);
  return {
    name: "sea-lazy-builtins",
    setup(b) {
      if (names.length === 0) return;
      b.onResolve({ filter }, (args) =>
        args.importer.includes("/node_modules/") ? { path: `${args.path}.lazy.cjs`, namespace: "sea-lazy" } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: "sea-lazy" }, (args) => ({
        loader: "js",
        contents: `const name = ${JSON.stringify(args.path.slice(0, -".lazy.cjs".length))};
let real;
module.exports = Object.create(new Proxy({}, {
  get(_, prop) {
    if (typeof prop === "symbol" || prop === "__esModule" || prop === "then") return undefined;
    real ??= process.getBuiltinModule(name);
    return real[prop];
  },
}));
`,
      }));
    },
  };
}

// A module that stands for a package left out of the executable: every export is a function that
// throws. CommonJS with the exports behind a prototype Proxy, so esbuild accepts any named import
// (it copies own properties only, and keeps the prototype).
function stubPlugin(stubs) {
  const filter = new RegExp(`^(?:${stubs.map(escapeRegExp).join("|")})(?:/.*)?$`);
  return {
    name: "sea-stubs",
    setup(b) {
      if (stubs.length === 0) return;
      // The stub is CommonJS whatever the name it stands for: esbuild takes a `.mjs` path for ESM,
      // where `module.exports` would be the importing bundle's own.
      b.onResolve({ filter }, (args) => ({ path: `${args.path}.stub.cjs`, namespace: "sea-stub" }));
      b.onLoad({ filter: /.*/, namespace: "sea-stub" }, (args) => ({
        loader: "js",
        contents: `const name = ${JSON.stringify(args.path.slice(0, -".stub.cjs".length))};
module.exports = Object.create(new Proxy({}, {
  get(_, prop) {
    if (typeof prop === "symbol" || prop === "__esModule" || prop === "then") return undefined;
    return () => { throw new Error(name + "." + String(prop) + ": " + name + " is not embedded in this executable (stubbed by tools/sea-assets.mjs)"); };
  },
}));
`,
      }));
    },
  };
}
