import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { packageDir } from "./paths.ts";
import { programsDir, programsOutDir } from "./programs.ts";

/** The WASI release whose WIT the JS components target (jco ships it). */
const WASI_VERSION = "0.2.12";
/**
 * StarlingMonkey (componentize-js 0.23) implements wasi:http 0.2.10, so an HTTP world names that
 * release; jco ships only the 0.2.12 WIT, which is the same interface, so it is relabelled.
 */
const HTTP_WASI_VERSION = "0.2.10";

/**
 * `programs/js/<name>.js` becomes `dist/programs/<name>-js.wasm`. A name starting with `http-` is
 * a wasi:http handler (componentize-js's `fetch` event, or its own `incomingHandler` export); any
 * other exports wasi:cli/run. The WASI interfaces it imports (`from "wasi:cli/environment@…"`)
 * are imported by its world.
 */
function world(name: string, source: string): string {
  const http = name.startsWith("http-");
  const version = http ? HTTP_WASI_VERSION : WASI_VERSION;
  const imports = new Set([...source.matchAll(/from\s+["'](wasi:[a-z-]+\/[a-z-]+)@[\d.]+["']/g)].map((m) => m[1]!));
  const exported = http ? "wasi:http/incoming-handler" : "wasi:cli/run";
  const lines = [...[...imports].sort().map((i) => `  import ${i}@${version};`), `  export ${exported}@${version};`];
  return `package local:${name};\n\nworld ${name} {\n${lines.join("\n")}\n}\n`;
}

/** A direct dependency's folder (pnpm links each one into the package's node_modules). */
const packageRoot = (pkg: string) => join(packageDir, "node_modules", pkg);

/**
 * Builds WASI 0.2 components from JavaScript with componentize-js, from the lockfile like every
 * other dependency. A stamp beside each output (source, world and componentize-js version) lets a
 * second build skip the ~10 s each one takes.
 */
export async function buildComponents(): Promise<{ files: string[]; written: string[] }> {
  const dir = join(programsDir, "js");
  const files: string[] = [];
  const written: string[] = [];
  if (!existsSync(dir)) return { files, written };
  const sources = (await readdir(dir)).filter((f) => f.endsWith(".js")).sort();
  const version = (
    JSON.parse(await readFile(join(packageRoot("@bytecodealliance/componentize-js"), "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  await mkdir(programsOutDir, { recursive: true });
  for (const file of sources) {
    const name = basename(file, ".js");
    const source = await readFile(join(dir, file), "utf8");
    const out = join(programsOutDir, `${name}-js.wasm`);
    const stamp = createHash("sha256")
      .update(`componentize-js ${version}\0${world(name, source)}\0${source}`)
      .digest("hex");
    files.push(out);
    if (existsSync(out) && (await readFile(`${out}.stamp`, "utf8").catch(() => "")) === stamp) continue;
    const component = await componentize(name, source);
    await writeFile(`${out}.${process.pid}.tmp`, component);
    await rename(`${out}.${process.pid}.tmp`, out);
    await writeFile(`${out}.stamp`, stamp);
    written.push(out);
  }
  return { files, written };
}

async function componentize(name: string, source: string): Promise<Uint8Array> {
  // componentize-js reads the WIT from inside Wasm through preview2-shim, which (since 0.26)
  // preopens nothing unless told to.
  const { _setPreopens } = (await import("@bytecodealliance/preview2-shim/filesystem")) as unknown as {
    _setPreopens: (p: Record<string, string>) => void;
  };
  _setPreopens({ "/": "/" });
  const { componentize: build } = await import("@bytecodealliance/componentize-js");
  const wit = await mkdtemp(join(tmpdir(), "wit-"));
  try {
    // The WASI packages the world refers to: jco's copy of the WIT of that release.
    const builtin = join(packageRoot("@bytecodealliance/jco"), "lib", "wit", "builtin", WASI_VERSION);
    for (const pkg of await readdir(builtin)) {
      await cp(join(builtin, pkg), join(wit, "deps", pkg), { recursive: true });
      if (!name.startsWith("http-")) continue;
      const file = join(wit, "deps", pkg, "package.wit");
      await writeFile(file, (await readFile(file, "utf8")).replaceAll(`@${WASI_VERSION}`, `@${HTTP_WASI_VERSION}`));
    }
    await writeFile(join(wit, "world.wit"), world(name, source));
    // The typings make sourcePath required, but componentize-js writes the source into its own
    // work folder when it is left out, which is what a source string needs.
    const opts = { witPath: wit, worldName: name } as unknown as Parameters<typeof build>[1];
    const { component } = await build(source, opts);
    return component;
  } finally {
    await rm(wit, { recursive: true, force: true });
  }
}
