import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { busyboxImageRef, fixturesImageRef, newLog, nextId, runOnce, type Bench, type Case } from "./harness.ts";
import { largeModuleCases } from "./large-module.ts";
import { parseLog } from "./logparse.ts";
import { phaseNames, phasesOf, type PhaseName, type Phases } from "./phases.ts";
import { roundSummary, summarize, type Summary } from "./stats.ts";

export interface CaseResult {
  label: string;
  engine: string;
  runs: number;
  failures: number;
  error?: string;
  wallMs: Summary;
  phases: Partial<Record<PhaseName, Summary>>;
  /** The phase with the largest median. */
  largest?: PhaseName;
  /** Median wall time over runc's median measured in the same rounds. */
  ratioToRunc?: number;
}

export const runcCase: Case = {
  label: "runc",
  engine: "runc",
  image: busyboxImageRef,
  args: ["/bin/busybox", "echo", "hi"],
};

function emptyDir(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/**
 * hello.wasm on every engine, jco twice (empty and warm transpile cache), a large module on every
 * engine (first and later containers: large-module.ts), and runc's busybox echo.
 */
export function coldStartCases(b: Bench, engines: readonly string[]): Case[] {
  const cases: Case[] = [runcCase];
  for (const e of engines) {
    const hello = { engine: e, image: fixturesImageRef, args: ["/hello.wasm"] };
    if (e === "jco") {
      cases.push({ ...hello, label: "jco (empty cache)", before: () => emptyDir(b.jcoCache) });
      cases.push({ ...hello, label: "jco (warm cache)" });
    } else {
      cases.push({ ...hello, label: e });
    }
    cases.push(...largeModuleCases(b, e));
  }
  return cases;
}

/**
 * Runs every case `rounds` times, one container at a time, interleaved (each round in a rotated
 * order) so that the machine's noise spreads over all cases alike. One unrecorded warm-up round
 * first: it pays for reading each binary from disk once.
 */
export async function coldStart(
  b: Bench,
  cases: readonly Case[],
  rounds: number,
  log: (m: string) => void,
): Promise<CaseResult[]> {
  const samples = new Map<string, { wall: number[]; phases: Phases[]; failures: number; error?: string }>();
  for (const c of cases) samples.set(c.label, { wall: [], phases: [], failures: 0 });
  for (let r = -1; r < rounds; r++) {
    const order = cases.map((_, i) => cases[(i + Math.max(r, 0)) % cases.length]!);
    for (const c of order) {
      const s = samples.get(c.label)!;
      // An engine that fails before it ever succeeded is dropped rather than retried every round.
      if (s.failures >= 1 && s.wall.length === 0) continue;
      newLog(b);
      const run = await runOnce(b, c, nextId(b, "cold"), 30_000);
      const lines = parseLog(newLog(b));
      if (run.code !== 0 || run.stdout.length === 0) {
        s.failures += 1;
        s.error = `exit ${run.code}: ${(run.stderr || run.stdout).trim().slice(0, 300)}`;
        log(`  ${c.label}: failed (${s.error})`);
        continue;
      }
      if (r < 0) continue;
      s.wall.push(run.tEnd - run.t0);
      s.phases.push(phasesOf(run, lines));
    }
    if (r >= 0)
      log(
        `  round ${r + 1}/${rounds}: ${cases.map((c) => `${c.label} ${Math.round(samples.get(c.label)!.wall.at(-1) ?? Number.NaN)}`).join(", ")} ms`,
      );
  }
  const runcMedian = summarize(samples.get(runcCase.label)?.wall ?? []).median;
  return cases.map((c) => {
    const s = samples.get(c.label)!;
    const phases: Partial<Record<PhaseName, Summary>> = {};
    for (const name of phaseNames) {
      const vals = s.phases.map((p) => p[name]).filter((v): v is number => v !== undefined);
      if (vals.length > 0) phases[name] = roundSummary(summarize(vals));
    }
    const largest = phaseNames.filter((n) => phases[n]).sort((x, y) => phases[y]!.median - phases[x]!.median)[0];
    const wall = summarize(s.wall);
    const res: CaseResult = {
      label: c.label,
      engine: c.engine,
      runs: s.wall.length,
      failures: s.failures,
      wallMs: roundSummary(wall),
      phases,
    };
    if (largest) res.largest = largest;
    if (s.error) res.error = s.error;
    if (c.engine !== "runc" && Number.isFinite(wall.median) && Number.isFinite(runcMedian))
      res.ratioToRunc = Math.round((wall.median / runcMedian) * 100) / 100;
    return res;
  });
}
