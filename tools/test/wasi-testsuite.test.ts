// The WASI test suite through every built shim, held to tools/wasi-testsuite/baseline.json: a
// baseline test that fails is a regression, and a test that starts passing must be recorded
// (tools/wasi-testsuite/run.ts --update-baseline) so the baseline stays honest.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compareBaseline, describeDiffs, readBaseline } from "../wasi-testsuite/baseline.ts";
import { discoverTests, suiteDir } from "../wasi-testsuite/discover.ts";
import { readReasons, reasonFor } from "../wasi-testsuite/reasons.ts";
import { builtEngines, runSuite } from "../wasi-testsuite/run-suite.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

describe("the WASI test suite", () => {
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
    expect(run.leftovers).toEqual([]);
  }, 30 * 60_000);
});
