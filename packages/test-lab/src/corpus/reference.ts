import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASI } from "node:wasi";
import { corpusModule, layOutCorpusRoot, programInImage } from "@wasm-shims/test-fixtures";
import { patchCwd } from "@wasm-shims/shim-core/src/wasm/cwd-patch.ts";
import { caseCwd, type CorpusCase } from "./cases.ts";

/** What a run of a case produced, wherever it ran. */
export interface CaseOutput {
  exit: number;
  stdout: string;
  stderr: string;
  /** The volume's files after the run (path under /data → content). */
  volume: Record<string, string>;
}

/** Every regular file under `dir`, by relative path. */
export function readTree(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, readTree(dir, rel));
    else if (e.isFile()) out[rel] = readFileSync(join(dir, rel), "utf8");
  }
  return out;
}

/** The image's environment plus the case's, in the order a container gets them. */
export function caseEnv(c: CorpusCase): Record<string, string> {
  return { PATH: "/bin", CORPUS_FROM_IMAGE: "yes", ...c.env };
}

const modules = new Map<string, WebAssembly.Module>();

/**
 * Runs a core-module case on the host under node:wasi, outside any container: "/" is a temp
 * directory laid out like the image, the working directory is patched in exactly as the runner
 * does, and argv[0] is the program's path in the image. This is what every engine must match.
 */
export async function runReference(c: CorpusCase): Promise<CaseOutput> {
  if (c.component) throw new Error(`${c.id}: node:wasi cannot run a component`);
  const dir = mkdtempSync(join(tmpdir(), "corpus-ref-"));
  const root = join(dir, "root");
  try {
    await layOutCorpusRoot(root);
    const { module: bytes } = patchCwd(await corpusModule(c.program), caseCwd(c));
    const key = `${c.program} ${caseCwd(c)}`;
    let module = modules.get(key);
    if (!module) modules.set(key, (module = await WebAssembly.compile(bytes)));
    writeFileSync(join(dir, "stdin"), c.stdin ?? "");
    const fds = {
      stdin: openSync(join(dir, "stdin"), "r"),
      stdout: openSync(join(dir, "stdout"), "w"),
      stderr: openSync(join(dir, "stderr"), "w"),
    };
    const wasi = new WASI({
      version: "preview1",
      args: [programInImage(c.program), ...c.args],
      env: caseEnv(c),
      preopens: { "/": root },
      returnOnExit: true,
      ...fds,
    });
    let exit: number;
    try {
      exit = wasi.start(await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports));
    } finally {
      // A guest may close its stdio itself (fd_close closes the host fd under node:wasi).
      for (const fd of Object.values(fds)) tryClose(fd);
    }
    return {
      exit,
      stdout: readFileSync(join(dir, "stdout"), "utf8"),
      stderr: readFileSync(join(dir, "stderr"), "utf8"),
      volume: readTree(join(root, "data")),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What is wrong with an output, judged by the case's own expectations (and by the reference's output, when there is one). */
export function problems(c: CorpusCase, got: CaseOutput, reference?: CaseOutput): string[] {
  const out: string[] = [];
  if (got.exit !== c.exit) out.push(`exit ${got.exit}, expected ${c.exit}`);
  const lines = got.stdout.split("\n");
  for (const want of c.stdout) if (!lines.includes(want)) out.push(`stdout lacks ${JSON.stringify(want)}`);
  const errLines = got.stderr.split("\n");
  for (const want of c.stderr ?? []) if (!errLines.includes(want)) out.push(`stderr lacks ${JSON.stringify(want)}`);
  for (const [file, want] of Object.entries(c.volumeFiles ?? {})) {
    const have = got.volume[file];
    if (have === undefined) out.push(`volume lacks ${file}`);
    else if (typeof want === "string" ? have !== want : !want.test(have))
      out.push(`volume ${file} is ${JSON.stringify(have.slice(0, 200))}`);
  }
  if (reference) {
    if (got.stdout !== reference.stdout)
      out.push(`stdout differs from the host's: ${firstDifference(got.stdout, reference.stdout)}`);
    if (got.stderr !== reference.stderr)
      out.push(`stderr differs from the host's: ${firstDifference(got.stderr, reference.stderr)}`);
    if (got.exit !== reference.exit) out.push(`exit ${got.exit}, the host's ${reference.exit}`);
  }
  return out;
}

function firstDifference(got: string, want: string): string {
  const a = got.split("\n");
  const b = want.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      return `line ${i + 1} is ${JSON.stringify(a[i]?.slice(0, 200) ?? "(none)")}, the host's ${JSON.stringify(b[i]?.slice(0, 200) ?? "(none)")}`;
  }
  return "(same lines)";
}

function tryClose(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed by the guest
  }
}
