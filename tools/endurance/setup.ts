import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureFixtures, fixturePath, writeOciImage } from "@wasm-shims/test-fixtures";

const root = resolve(import.meta.dirname, "../..");

export const enduranceImage = "localhost/endurance:tool";

/** The guests every part runs, as core modules (node, wasmer) and as WASI 0.2 components (jco). */
const programs = ["hello", "sleep", "cat-stdin"] as const;
export type Program = (typeof programs)[number];

/** Engines that run only components get the adapter-wrapped copy of a program. */
export const componentEngines = new Set(["jco"]);

/** The path of `program` inside the endurance image for `engine`. */
export function programFor(engine: string, program: Program): string {
  return componentEngines.has(engine) ? `/${program}.component.wasm` : `/${program}.wasm`;
}

/** What `program` prints first, so a run can be checked and not just counted. */
export const helloText = "hello from wasm\n";

/** The WASI preview1 command adapter that the locked @bytecodealliance/jco ships (a dependency of shim-jco). */
function commandAdapter(): Promise<Uint8Array> {
  return readFile(
    join(root, "packages/shim-jco/node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm"),
  );
}

/** jco-transpile's wasm-tools, from the shim-jco package that depends on it. */
async function wasmTools(): Promise<{
  componentNew: (m: Uint8Array, adapters: [string, Uint8Array][]) => Promise<Uint8Array>;
}> {
  const req = createRequire(join(root, "packages/shim-jco/package.json"));
  return (await import(pathToFileURL(req.resolve("@bytecodealliance/jco-transpile/wasm-tools")).href)) as never;
}

/** Writes the endurance image (each program as a core module and as a component) into `dir`. */
export async function writeEnduranceImage(dir: string): Promise<string> {
  await ensureFixtures();
  const { componentNew } = await wasmTools();
  const adapter = await commandAdapter();
  const files = [];
  for (const p of programs) {
    const core = await readFile(fixturePath(p));
    files.push({ path: `/${p}.wasm`, content: core, mode: 0o755 });
    files.push({
      path: `/${p}.component.wasm`,
      content: await componentNew(core, [["wasi_snapshot_preview1", adapter]]),
      mode: 0o755,
    });
  }
  const tarball = join(dir, "endurance.tar");
  await writeOciImage(tarball, {
    ref: enduranceImage,
    files,
    entrypoint: ["/hello.wasm"],
    env: ["PATH=/"],
    os: "wasip1",
    architecture: "wasm",
  });
  return tarball;
}
