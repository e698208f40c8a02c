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

const timedOut = (results: readonly TestResult[]) => results.filter((r) => r.timedOut).map((r) => `${r.engine} ${r.id}: ${r.detail}`);

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

describe("the WASI test suite", () => {
  it("counts a guest that outlives its time limit against the gate, and still cleans up", async () => {
    const [engine] = builtEngines(repoRoot);
    expect(engine, "no containerd-shim-*-v1 in dist/bin: run tools/build.sh").toBeDefined();
    // No container starts, let alone finishes, within 300 ms.
    const run = await runSuite({ repoRoot, engines: [engine!], filter: /^c\/clock_getres-monotonic$/, timeoutMs: 300 });
    expect(timedOut(run.results)).toEqual([`${engine} c/clock_getres-monotonic: timed out after 300 ms (killed)`]);
    expect(run.leftovers).toEqual([]);
  }, 5 * 60_000);

  it("has a written reason for every test an engine's baseline leaves out", () => {
    const tests = discoverTests(suiteDir(repoRoot));
    const reasons = readReasons();
    const missing = Object.entries(readBaseline()).flatMap(([engine, passing]) =>
      tests.filter((t) => !passing.includes(t.id) && !reasonFor(reasons, t.id, engine)).map((t) => `${engine} ${t.id}`),
    );
    expect(missing, "add these to tools/wasi-testsuite/reasons.json").toEqual([]);
  });

  it("passes exactly the baseline on every built engine, leaving nothing behind", async () => {
    const engines = builtEngines(repoRoot);
    expect(engines.length, "no containerd-shim-*-v1 in dist/bin: run tools/build.sh").toBeGreaterThan(0);
    const run = await runSuite({ repoRoot, engines });
    expect(describeDiffs(compareBaseline(run.results, readBaseline()))).toEqual([]);
    expect(timedOut(run.results), "guests that outlived their time limit").toEqual([]);
    expect(run.leftovers).toEqual([]);
  }, 30 * 60_000);
});
