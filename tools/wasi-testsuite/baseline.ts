// baseline.json: per engine, the tests that pass now. A run is held to it in both directions, so a
// regression fails and so does an unrecorded improvement (update with run.ts --update-baseline).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestResult } from "./run-test.ts";

export type Baseline = Record<string, string[]>;

export const baselinePath = join(import.meta.dirname, "baseline.json");

export function readBaseline(path = baselinePath): Baseline {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Baseline) : {};
}

/** Replaces the entries of the engines in `results`; other engines' entries stay. */
export function updateBaseline(results: readonly TestResult[], path = baselinePath): Baseline {
  const baseline = readBaseline(path);
  for (const engine of new Set(results.map((r) => r.engine))) {
    baseline[engine] = results
      .filter((r) => r.engine === engine && r.pass)
      .map((r) => r.id)
      .sort();
  }
  const sorted = Object.fromEntries(Object.entries(baseline).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileSync(path, `${JSON.stringify(sorted, null, 2)}\n`);
  return sorted;
}

export interface BaselineDiff {
  engine: string;
  /** In the baseline, failed now: with the failure's detail. */
  regressions: { id: string; detail: string }[];
  /** Not in the baseline, passes now. */
  newPasses: string[];
}

/** Compares the results of each engine that ran with its baseline (an engine without one has none). */
export function compareBaseline(results: readonly TestResult[], baseline: Baseline): BaselineDiff[] {
  return [...new Set(results.map((r) => r.engine))].map((engine) => {
    const expected = new Set(baseline[engine] ?? []);
    const mine = results.filter((r) => r.engine === engine);
    return {
      engine,
      regressions: mine.filter((r) => expected.has(r.id) && !r.pass).map((r) => ({ id: r.id, detail: r.detail })),
      newPasses: mine.filter((r) => !expected.has(r.id) && r.pass).map((r) => r.id),
    };
  });
}

/** A message for each difference; empty when the run matches the baseline. */
export function describeDiffs(diffs: readonly BaselineDiff[]): string[] {
  const out: string[] = [];
  for (const d of diffs) {
    for (const r of d.regressions)
      out.push(`regression: ${d.engine} ${r.id} is in baseline.json but failed: ${r.detail}`);
    if (d.newPasses.length > 0) {
      out.push(
        `not in baseline.json but passing now on ${d.engine}: ${d.newPasses.join(", ")} — record them with \`tools/wasi-testsuite/run.ts --engine ${d.engine} --update-baseline\` (and drop their reasons from reasons.json)`,
      );
    }
  }
  return out;
}
