import type { RunHeader } from "../benchmark/machine.ts";
import type { CriPartResult } from "./cri.ts";
import type { CyclesResult } from "./cycles.ts";
import type { flatRule } from "./sample.ts";
import type { IdleResult } from "./idle.ts";
import type { SoakResult } from "./soak.ts";

export interface Settings {
  cycles: number;
  criContainers: number;
  probeIntervalS: number;
  soakS: number;
  idleS: number;
  sampleS: number;
  lineIntervalMs: number;
  execEverySamples: number;
}

export interface Results extends RunHeader {
  settings: Settings;
  /** Whether the soak ran after the other parts instead of beside them. */
  sequential: boolean;
  flatRule: typeof flatRule;
  cycles: CyclesResult[];
  cri: CriPartResult[];
  soak: SoakResult[];
  /** What the soak's containerd had left once every soak task was gone (they share it). */
  soakLeftovers: string[];
  /** Idle tasks' daemons beside bare-Node controls; absent when the part did not run. */
  idle?: IdleResult;
  /** What each private containerd left on the host after it was stopped (the harness removes it then). */
  afterStop: Record<string, string[]>;
  /** A part that could not run to its end, and why. */
  errors: string[];
  /** Every check that failed; empty when the run passed. */
  problems: string[];
}

/** The checks, as sentences: leftovers, failed runs, lost lines, growing memory. */
export function problems(r: Omit<Results, "problems">): string[] {
  const out: string[] = [...r.errors.map((e) => `error: ${e}`)];
  for (const c of r.cycles) {
    if (c.failed > 0) out.push(`cycles ${c.engine}: ${c.failed} of ${c.cycles} runs failed`);
    for (const cp of c.checkpoints)
      if (cp.leftovers.length > 0)
        out.push(`cycles ${c.engine}: after ${cp.done} cycles left ${cp.leftovers.join("; ")}`);
    if (c.leftovers.length > 0) out.push(`cycles ${c.engine}: left ${c.leftovers.join("; ")}`);
  }
  for (const c of r.cri) {
    if (c.failed > 0) out.push(`cri ${c.engine}: ${c.failed} of ${c.containers} containers failed`);
    if (c.probes.failed > 0) out.push(`cri ${c.engine}: ${c.probes.failed} of ${c.probes.sent} exec probes failed`);
    if (c.daemon.flatness.verdict === "growing")
      out.push(`cri ${c.engine}: the pod's daemon grows (${describe(c.daemon.flatness)})`);
    if (c.leftovers.length > 0) out.push(`cri ${c.engine}: left ${c.leftovers.join("; ")}`);
  }
  for (const s of r.soak) {
    if (s.linesLost > 0 || s.outOfOrder > 0)
      out.push(`soak ${s.engine}: ${s.linesLost} lines lost, ${s.outOfOrder} out of order`);
    if (s.stats.failed > 0 || s.execs.failed > 0)
      out.push(`soak ${s.engine}: ${s.stats.failed} Stats calls and ${s.execs.failed} execs failed`);
    if (s.daemon.flatness.verdict === "growing")
      out.push(`soak ${s.engine}: the daemon grows (${describe(s.daemon.flatness)})`);
    if (s.endedBy !== "SIGTERM")
      out.push(`soak ${s.engine}: the task ignored SIGTERM for 15 s; ${s.endedBy} ended it (exit ${s.exitCode})`);
    else if (s.exitCode !== 143) out.push(`soak ${s.engine}: the task ended with ${s.exitCode} on SIGTERM, not 143`);
  }
  if (r.soakLeftovers.length > 0) out.push(`soak: left ${r.soakLeftovers.join("; ")}`);
  // The controls are Node's own and are reported, not judged.
  for (const p of r.idle?.processes ?? [])
    if (p.name.endsWith(" daemon") && p.flatness.verdict === "growing")
      out.push(`idle: the ${p.name} grows (${describe(p.flatness)})`);
  for (const [part, left] of Object.entries(r.afterStop))
    if (left.length > 0) out.push(`${part}: after containerd stopped, left ${left.join("; ")}`);
  return out;
}

export function describe(
  f: CyclesResult["checkpoints"][number]["containerd"] | Results["soak"][number]["daemon"]["flatness"],
): string {
  if ("verdict" in f)
    return `PSS ${f.pssSlopeMBPerHour} MB/h, RSS ${f.rssSlopeMBPerHour} MB/h, fds ${f.fdGrowth >= 0 ? "+" : ""}${f.fdGrowth} over ${f.spanS} s`;
  return `${f.rssMB} MB RSS, ${f.fds} fds`;
}

/**
 * One report from runs made side by side, one per engine (`--engine E` each, on the same machine
 * at the same time): a full run of every engine in turn takes longer than a working session.
 */
export function mergeResults(runs: readonly Results[]): Results {
  const [first, ...rest] = runs;
  if (!first) throw new Error("no runs to merge");
  for (const r of rest)
    if (JSON.stringify(r.settings) !== JSON.stringify(first.settings))
      throw new Error(`runs with different settings: ${first.command} and ${r.command}`);
  const base: Omit<Results, "problems"> = {
    ...first,
    date: runs.map((r) => r.date).sort()[0]!,
    command: runs.map((r) => r.command).join(" & "),
    quick: runs.some((r) => r.quick),
    durationS: Math.max(...runs.map((r) => r.durationS)),
    engines: runs.flatMap((r) => r.engines),
    versions: Object.assign({}, ...runs.map((r) => r.versions)),
    sequential: runs.some((r) => r.sequential),
    cycles: runs.flatMap((r) => r.cycles),
    cri: runs.flatMap((r) => r.cri),
    soak: runs.flatMap((r) => r.soak),
    soakLeftovers: runs.flatMap((r) => r.soakLeftovers),
    ...mergedIdle(runs),
    afterStop: Object.fromEntries(
      runs.flatMap((r) =>
        Object.entries(r.afterStop).map(([part, left]) => [`${part} (${r.engines.join(", ")})`, left]),
      ),
    ),
    errors: runs.flatMap((r) => r.errors),
  };
  return { ...base, problems: problems(base) };
}

function mergedIdle(runs: readonly Results[]): { idle?: IdleResult } {
  const withIdle = runs.flatMap((r) => (r.idle ? [r.idle] : []));
  if (withIdle.length === 0) return {};
  // Every run starts its own controls: keep the first run's, and every run's daemons.
  const controls = withIdle[0]!.processes.filter((p) => !p.name.endsWith(" daemon"));
  const daemons = withIdle.flatMap((i) => i.processes.filter((p) => p.name.endsWith(" daemon")));
  return { idle: { durationS: Math.max(...withIdle.map((i) => i.durationS)), processes: [...daemons, ...controls] } };
}
