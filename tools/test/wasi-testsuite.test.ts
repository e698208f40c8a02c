// The WASI test suite through every built shim, held to tools/wasi-testsuite/baseline.json: a
// baseline test that fails is a regression, and a test that starts passing must be recorded
// (tools/wasi-testsuite/run.ts --update-baseline) so the baseline stays honest. A guest that
// outlives its time limit fails the gate even when the test is not in the baseline: a shim that
// cannot stop a guest is a regression whatever the guest was meant to do.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareBaseline, describeDiffs, readBaseline } from "../wasi-testsuite/baseline.ts";
import { discoverTests, suiteDir } from "../wasi-testsuite/discover.ts";
import { readReasons, reasonFor } from "../wasi-testsuite/reasons.ts";
import { builtEngines, runSuite } from "../wasi-testsuite/run-suite.ts";
import type { TestResult } from "../wasi-testsuite/run-test.ts";
import { runInProcess } from "../wasi-testsuite/run-in-process.ts";

const timedOut = (results: readonly TestResult[]) =>
  results.filter((r) => r.timedOut).map((r) => `${r.engine} ${r.id}: ${r.detail}`);

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

describe("the WASI test suite", () => {
  it(
    "counts a guest that outlives its time limit against the gate, and still cleans up",
    async () => {
      const [engine] = builtEngines(repoRoot);
      expect(engine, "no containerd-shim-*-v1 in dist/bin: run tools/build.sh").toBeDefined();
      // No container starts, let alone finishes, within 100 ms (300 ms stopped being enough once
      // the shims' boots got faster: a whole jco container now takes about that long).
      const run = await runSuite({
        repoRoot,
        engines: [engine!],
        filter: /^c\/clock_getres-monotonic$/,
        timeoutMs: 100,
      });
      expect(timedOut(run.results)).toEqual([`${engine} c/clock_getres-monotonic: timed out after 100 ms (killed)`]);
      // The whole list in the message: vitest's diff shows a long array as "[ …(4) ]".
      expect(run.leftovers, run.leftovers.join("\n")).toEqual([]);
    },
    5 * 60_000,
  );

  // The preview1 layer over node:wasi (shim-node, and shim-jco for core modules), outside any
  // container and given what wasmtime is given: every test passes, so what the baseline leaves out
  // for node and jco is the container's doing (reasons.json says how).
  it(
    "passes every test on node:wasi with the preview1 layer, in process",
    () => {
      const failures = discoverTests(suiteDir(repoRoot))
        .filter((t) => !t.unsupported)
        .flatMap((t) => {
          const r = runInProcess(t);
          const problems = [
            r.timedOut ? "timed out" : "",
            r.exitCode !== t.exitCode ? `exit ${r.exitCode}, expected ${t.exitCode}` : "",
            t.stdout !== undefined && !r.stdout.startsWith(t.stdout)
              ? `stdout ${JSON.stringify(r.stdout.slice(0, 80))}`
              : "",
            t.stderr !== undefined && !r.stderr.startsWith(t.stderr)
              ? `stderr ${JSON.stringify(r.stderr.slice(0, 80))}`
              : "",
          ].filter(Boolean);
          return problems.length ? [`${t.id}: ${problems.join("; ")} ${r.stderr.slice(0, 300)}`] : [];
        });
      expect(failures).toEqual([]);
    },
    10 * 60_000,
  );

  it("has a written reason for every test an engine's baseline leaves out", () => {
    const tests = discoverTests(suiteDir(repoRoot));
    const reasons = readReasons();
    const missing = Object.entries(readBaseline()).flatMap(([engine, passing]) =>
      tests.filter((t) => !passing.includes(t.id) && !reasonFor(reasons, t.id, engine)).map((t) => `${engine} ${t.id}`),
    );
    expect(missing, "add these to tools/wasi-testsuite/reasons.json").toEqual([]);
  });

  it(
    "passes exactly the baseline on every built engine, leaving nothing behind",
    async () => {
      const engines = builtEngines(repoRoot);
      expect(engines.length, "no containerd-shim-*-v1 in dist/bin: run tools/build.sh").toBeGreaterThan(0);
      const run = await runSuite({ repoRoot, engines });
      expect(describeDiffs(compareBaseline(run.results, readBaseline()))).toEqual([]);
      expect(timedOut(run.results), "guests that outlived their time limit").toEqual([]);
      expect(run.leftovers).toEqual([]);
    },
    30 * 60_000,
  );
});
