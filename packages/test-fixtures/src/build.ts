import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import initWabt from "wabt";
import { fixtureNames, wasmDir, watDir } from "./paths.ts";
import { buildComponents } from "./components.ts";
import { buildPrograms, programsOutDir } from "./programs.ts";

const includeLine = /^[ \t]*;; #include ([\w-]+)[ \t]*$/gm;

/**
 * A valid header followed by a type section that claims 4 bytes but holds 3, so
 * `WebAssembly.validate` is false while a magic-number sniff still says "wasm".
 */
const invalidWasm = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00);
const notWasm = "This is a plain text file: not WebAssembly, not ELF, no #! line.\n";

export interface BuildResult {
  /** Absolute paths of every file in dist/wasm that this build is responsible for. */
  files: string[];
  /** Files whose bytes changed (others were left untouched, keeping their mtimes). */
  written: string[];
}

/** Splices `;; #include NAME` lines with wat/include/NAME.wat, so helpers exist in one place only. */
async function expandIncludes(source: string, wat: string): Promise<string> {
  const names = new Set([...source.matchAll(includeLine)].map((m) => m[1] as string));
  const snippets = new Map<string, string>();
  for (const name of names) snippets.set(name, await readFile(join(wat, "include", `${name}.wat`), "utf8"));
  return source.replace(includeLine, (_line, name: string) => snippets.get(name) ?? "");
}

/** Writes only when the bytes differ, through a rename so a concurrent reader never sees half a file. */
async function writeIfChanged(path: string, bytes: Uint8Array): Promise<boolean> {
  const old = await readFile(path).catch(() => undefined);
  if (old && Buffer.compare(old, bytes) === 0) return false;
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return true;
}

/**
 * Compiles every `wat/*.wat` to `dist/wasm/<name>.wasm` and writes the negative fixtures.
 * Other directories are for testing the build itself.
 */
export async function buildFixtures(dirs: { wat?: string; wasm?: string } = {}): Promise<BuildResult> {
  const wat = dirs.wat ?? watDir;
  const out = dirs.wasm ?? wasmDir;
  const wabt = await initWabt();
  await mkdir(out, { recursive: true });
  const sources = (await readdir(wat)).filter((f) => f.endsWith(".wat")).sort();
  const listed = new Set<string>(fixtureNames);
  const unlisted = sources.filter((f) => !listed.delete(basename(f, ".wat")));
  // Images and tests take their contents from fixtureNames, so a fixture missing there would be silently dropped.
  if (unlisted.length || listed.size) {
    throw new Error(`wat/ and fixtureNames in src/paths.ts disagree: unlisted [${unlisted}], missing [${[...listed]}]`);
  }
  const outputs: [string, Uint8Array][] = [];
  for (const file of sources) {
    const name = basename(file, ".wat");
    const text = await expandIncludes(await readFile(join(wat, file), "utf8"), wat);
    let mod: ReturnType<typeof wabt.parseWat> | undefined;
    try {
      mod = wabt.parseWat(`${file} (includes expanded)`, text);
      mod.resolveNames();
      mod.validate();
      outputs.push([join(out, `${name}.wasm`), mod.toBinary({ write_debug_names: true }).buffer]);
    } catch (err) {
      throw new Error(`compiling wat/${file}: ${(err as Error).message}`);
    } finally {
      mod?.destroy();
    }
  }
  outputs.push([join(out, "invalid.wasm"), invalidWasm]);
  outputs.push([join(out, "not-wasm.txt"), new TextEncoder().encode(notWasm)]);

  const written: string[] = [];
  for (const [path, bytes] of outputs) if (await writeIfChanged(path, bytes)) written.push(path);
  return { files: outputs.map(([path]) => path), written };
}

if (import.meta.main) {
  const started = performance.now();
  const { files, written } = await buildFixtures();
  console.log(
    `built ${files.length} fixtures in ${wasmDir} (${written.length} changed, ${Math.round(performance.now() - started)} ms)`,
  );
  const programs = await buildPrograms();
  console.log(
    `built ${programs.files.length} programs in ${programsOutDir} (${programs.written.length} changed, ${Math.round(performance.now() - started)} ms)`,
  );
  const components = await buildComponents();
  console.log(
    `built ${components.files.length} components in ${programsOutDir} (${components.written.length} changed, ${Math.round(performance.now() - started)} ms)`,
  );
}
