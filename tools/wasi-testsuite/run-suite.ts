// Builds the images, starts one private containerd with every shim on its PATH, and runs each test
// through each engine, a few at a time.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { findEngines } from "../benchmark/machine.ts";
import { discoverTests, suiteCommit, suiteDir, type WasiTest } from "./discover.ts";
import { buildImages } from "./images.ts";
import { runTest, type TestResult } from "./run-test.ts";

export interface SuiteOptions {
  repoRoot: string;
  /** Engine names (the X of containerd-shim-X-v1); default: every shim built in dist/bin. */
  engines?: string[];
  filter?: RegExp;
  /** Tests in flight at once, over all engines. */
  jobs?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Stops the run: no test starts any more, and containerd (with every task) is stopped. */
  signal?: AbortSignal;
}

/** An engine whose first this-many tests all time out hangs on everything: its other tests are not run. */
export const HANG_LIMIT = 3;

export interface EngineInfo {
  name: string;
  /** The shim's `-v` output, condensed to one line. */
  version: string;
}

export interface SuiteRun {
  suiteDir: string;
  suiteCommit: string;
  tests: WasiTest[];
  engines: EngineInfo[];
  results: TestResult[];
  /** What the run left on the host (tasks, mounts, cgroups…); empty when all is clean. */
  leftovers: string[];
  ms: number;
}

export const binDir = (repoRoot: string): string => join(repoRoot, "dist", "bin");

/** Engines whose shim binary is built, in name order. */
export const builtEngines = (repoRoot: string): string[] => findEngines(binDir(repoRoot));

function engineInfo(repoRoot: string, name: string): EngineInfo {
  const bin = join(binDir(repoRoot), `containerd-shim-${name}-v1`);
  if (!existsSync(bin)) throw new Error(`no shim for engine ${name}: ${bin} is not built`);
  let version: string;
  try {
    const out = execFileSync(bin, ["-v"], { encoding: "utf8", timeout: 30_000 });
    version = out
      .split("\n")
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean)
      .join("; ");
  } catch (err) {
    version = `unknown (${(err as Error).message.split("\n")[0]})`;
  }
  return { name, version };
}

/** Runs `work` over `items` with at most `jobs` in flight; results keep the items' order. */
async function pool<T, R>(items: readonly T[], jobs: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return out;
}

export async function runSuite(opts: SuiteOptions): Promise<SuiteRun> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const dir = suiteDir(opts.repoRoot);
  const tests = discoverTests(dir).filter((t) => !opts.filter || opts.filter.test(t.id));
  const engines = (opts.engines ?? builtEngines(opts.repoRoot)).map((e) => engineInfo(opts.repoRoot, e));
  if (engines.length === 0) throw new Error(`no engine to run: no containerd-shim-*-v1 in ${binDir(opts.repoRoot)}`);
  const work = mkdtempSync(join(tmpdir(), "wasi-testsuite-"));
  let ctd: Containerd | undefined;
  // Once: a second Containerd.stop() returns at once, before the first has finished.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= ctd?.stop() ?? Promise.resolve());
  try {
    const images = await buildImages(tests, work);
    // Private copies: a rebuild of dist/bin during the run must not swap binaries under running shims.
    const shimDir = join(work, "bin");
    mkdirSync(shimDir);
    for (const e of engines)
      copyFileSync(
        join(binDir(opts.repoRoot), `containerd-shim-${e.name}-v1`),
        join(shimDir, `containerd-shim-${e.name}-v1`),
      );
    ctd = await Containerd.start({ shimDir });
    const c = ctd;
    // Stopping containerd ends every task, so the ctr runs in flight return at once.
    opts.signal?.addEventListener("abort", () => void stop());
    await pool(images, 2, (image) => c.importImage(image.tarball));
    log(`${tests.length} tests in ${images.length} images; engines: ${engines.map((e) => e.name).join(", ")}`);
    const refOf = new Map(images.flatMap((image) => image.tests.map((t) => [t.id, image.ref] as const)));
    // Test-major order, so every engine makes progress from the start and shares the machine evenly.
    const cases = tests.flatMap((t) => engines.map((e) => ({ engine: e.name, test: t })));
    const done = new Map(engines.map((e) => [e.name, { finished: 0, timeouts: 0, hung: false }]));
    const tag = `${process.pid}`;
    const results = await pool(cases, opts.jobs ?? 3, async ({ engine, test }) => {
      opts.signal?.throwIfAborted();
      const state = done.get(engine)!;
      const r = state.hung
        ? {
            id: test.id,
            engine,
            pass: false,
            detail: `not run: the engine's first ${HANG_LIMIT} tests all timed out`,
            timedOut: false,
            ms: 0,
          }
        : await runTest(test, {
            ctd: c,
            engine,
            imageRef: refOf.get(test.id)!,
            timeoutMs: opts.timeoutMs ?? 45_000,
            tag,
          });
      if (!state.hung && state.finished < HANG_LIMIT) {
        state.finished++;
        if (r.timedOut) state.timeouts++;
        state.hung = state.timeouts === HANG_LIMIT;
      }
      log(`${r.pass ? "pass" : "FAIL"} ${engine} ${test.id} (${r.ms} ms)${r.pass ? "" : `: ${r.detail}`}`);
      return r;
    });
    opts.signal?.throwIfAborted();
    const leftovers = await ctd.leftovers();
    await stop();
    leftovers.push(...(await ctd.leftovers()));
    return {
      suiteDir: dir,
      suiteCommit: suiteCommit(dir),
      tests,
      engines,
      results,
      leftovers,
      ms: Date.now() - started,
    };
  } finally {
    await stop();
    rmSync(work, { recursive: true, force: true });
  }
}
