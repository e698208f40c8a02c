// Finds the tests of a prebuilt wasi-testsuite checkout and reads their JSON specifications the
// way its reference runner does (doc/specification.md; legacy keys become run/read/wait).
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export interface WasiTest {
  /** `<suite>/<name>`, e.g. `rust/fd_readdir`: unique, and the key of baseline.json and reasons.json. */
  id: string;
  /** The language folder under tests/ (assemblyscript, c, rust). */
  suite: string;
  /** The manifest's name, as the peers' expectation files name suites. */
  suiteName: string;
  name: string;
  dir: string;
  wasm: string;
  args: string[];
  env: Record<string, string>;
  /** Host folder to preopen as the guest's `/`, or undefined for none. */
  root: string | undefined;
  exitCode: number;
  /** Expected stream contents; undefined when the specification says nothing about that stream. */
  stdout: string | undefined;
  stderr: string | undefined;
  /** Set when the specification needs something this runner does not drive (sockets, http, writes). */
  unsupported: string | undefined;
}

/** The suite folder: $WASI_TESTSUITE_DIR, else ../shared/wasi-testsuite beside the repository. */
export function suiteDir(repoRoot: string): string {
  const dir = process.env["WASI_TESTSUITE_DIR"] ?? join(repoRoot, "..", "shared", "wasi-testsuite");
  if (!existsSync(join(dir, "tests")))
    throw new Error(`no wasi-testsuite at ${dir} (set WASI_TESTSUITE_DIR to a prebuilt checkout)`);
  return resolve(dir);
}

/** The suite's source commit, as its SOURCE.md states it; "unknown" otherwise. */
export function suiteCommit(dir: string): string {
  const source = join(dir, "SOURCE.md");
  const text = existsSync(source) ? readFileSync(source, "utf8") : "";
  return /commit ([0-9a-f]{7,40})/.exec(text)?.[1] ?? "unknown";
}

type Json = Record<string, unknown>;

/** Removes `*.cleanup` artifacts of earlier runs; a read-only copy (nothing to remove) is fine. */
function removeCleanup(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name.endsWith(".cleanup")) {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch (err) {
        throw new Error(`cannot remove test artifact ${path}: ${(err as Error).message}`);
      }
    } else if (entry.isDirectory()) removeCleanup(path);
  }
}

function operations(spec: Json): Json[] {
  if (Array.isArray(spec["operations"])) return spec["operations"] as Json[];
  const ops: Json[] = [{ type: "run", args: spec["args"], env: spec["env"], root: spec["root"] }];
  if (spec["stdout"] != null) ops.push({ type: "read", id: "stdout", payload: spec["stdout"] });
  if (spec["stderr"] != null) ops.push({ type: "read", id: "stderr", payload: spec["stderr"] });
  ops.push({ type: "wait", exit_code: spec["exit_code"] ?? 0 });
  return ops;
}

function readTest(suite: string, suiteName: string, dir: string, file: string): WasiTest {
  const name = file.slice(0, -".wasm".length);
  const specPath = join(dir, `${name}.json`);
  const spec = existsSync(specPath) ? (JSON.parse(readFileSync(specPath, "utf8")) as Json) : {};
  const test: WasiTest = {
    id: `${suite}/${name}`,
    suite,
    suiteName,
    name,
    dir,
    wasm: join(dir, file),
    args: [],
    env: {},
    root: undefined,
    exitCode: 0,
    stdout: undefined,
    stderr: undefined,
    unsupported: undefined,
  };
  const runs = operations(spec).filter((op) => op["type"] === "run").length;
  const proposals = (spec["proposals"] as string[] | undefined) ?? [];
  if (runs !== 1 || proposals.length > 0)
    test.unsupported = `needs ${proposals.length > 0 ? `proposals ${proposals.join(", ")}` : `${runs} runs`}`;
  for (const op of operations(spec)) {
    switch (op["type"]) {
      case "run":
        test.args = (op["args"] as string[] | undefined) ?? [];
        test.env = (op["env"] as Record<string, string> | undefined) ?? {};
        test.root = typeof op["root"] === "string" ? join(dir, op["root"]) : undefined;
        break;
      case "read":
        if (op["id"] === "stderr") test.stderr = (op["payload"] as string | undefined) ?? "";
        else test.stdout = (op["payload"] as string | undefined) ?? "";
        break;
      case "wait":
        test.exitCode = (op["exit_code"] as number | undefined) ?? 0;
        break;
      default:
        test.unsupported ??= `needs the ${String(op["type"])} operation`;
    }
  }
  return test;
}

/** Every wasm32-wasip1 test under `dir`/tests, sorted by id, after removing `*.cleanup` artifacts. */
export function discoverTests(dir: string): WasiTest[] {
  const tests: WasiTest[] = [];
  for (const suite of readdirSync(join(dir, "tests")).sort()) {
    const testDir = join(dir, "tests", suite, "testsuite", "wasm32-wasip1");
    if (!existsSync(testDir) || !statSync(testDir).isDirectory()) continue;
    removeCleanup(testDir);
    const manifest = join(testDir, "manifest.json");
    const suiteName = existsSync(manifest)
      ? ((JSON.parse(readFileSync(manifest, "utf8")) as Json)["name"] as string)
      : suite;
    for (const file of readdirSync(testDir).sort()) {
      if (file.endsWith(".wasm")) tests.push(readTest(suite, suiteName, testDir, file));
    }
  }
  return tests;
}
