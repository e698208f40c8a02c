import { setTimeout as sleep } from "node:timers/promises";
import { wallMs } from "./clock.ts";
import { busyboxImageRef, fixturesImageRef, nextId, runtimeFlag, taskStates, type Bench } from "./harness.ts";
import { cgroupMemory, processTable, shimPid, sparePids, tree, treeMem, type TreeMem } from "./procmem.ts";
import { f, table } from "./markdown.ts";
import { median, round } from "./stats.ts";
import { statsCost, type StatsCost } from "./task-stats.ts";

/** A task that stays up and idle: sleep.wasm blocks in poll_oneoff, busybox in nanosleep. */
export interface LongCase {
  label: string;
  engine: string;
  image: string;
  args: string[];
}

export function longCases(engines: readonly string[]): LongCase[] {
  return [
    { label: "runc", engine: "runc", image: busyboxImageRef, args: ["/bin/busybox", "sleep", "3600"] },
    ...engines.map((e) => ({ label: e, engine: e, image: fixturesImageRef, args: ["/sleep.wasm", "3600000"] })),
  ];
}

export interface MemorySample extends TreeMem {
  /** The container's cgroup only (the runner or busybox), MB. */
  cgroup: number;
}

/** PSS (MB) of the shim's own process, of runc processes, and of the container's processes. */
export interface MemoryParts {
  shim: number;
  runc: number;
  container: number;
}

export interface MemoryResult {
  label: string;
  parts?: MemoryParts;
  engine: string;
  error?: string;
  /** Median of the samples taken while idle, MB. */
  steady?: MemorySample;
  /** Sum of the processes' VmHWM, and the largest RSS sum seen, MB. */
  peak?: { hwm: number; rss: number };
  processes?: number;
  /** What a Stats call costs this idle task's shim (absent in runs from before it was measured). */
  stats?: StatsCost;
}

export interface DensityResult {
  label: string;
  engine: string;
  n: number;
  error?: string;
  /** From launching N `ctr run -d` at once until the last of them returned with its task RUNNING. */
  allRunningMs?: number;
  running?: number;
  total?: MemorySample;
  perTask?: MemorySample;
  /** Tasks per second over the whole start. */
  startRate?: number;
}

async function startDetached(b: Bench, c: LongCase, id: string): Promise<{ ok: boolean; err: string }> {
  const r = await b.ctd.ctr(["run", "-d", ...runtimeFlag(c.engine), c.image, id, ...c.args], { timeoutMs: 300_000 });
  return { ok: r.code === 0, err: r.stderr.trim() };
}

/**
 * Memory of each task's shim tree (shim, runc, container processes) and of its cgroup, summed, and
 * of the engine's spare daemon if one waits (counted as shim).
 */
async function measure(
  b: Bench,
  ids: readonly string[],
  engine: string,
): Promise<MemorySample & { parts: MemoryParts }> {
  const states = await taskStates(b);
  const table = processTable();
  const spares = sparePids(table, b.ctd.socket, engine);
  const shims = [...spares];
  const pids: number[] = [...spares];
  let cgroup = 0;
  for (const id of ids) {
    const shim = shimPid(table, b.ctd.socket, id);
    if (shim !== undefined) {
      shims.push(shim);
      // The spare is the child of the daemon that started it, and already counted.
      pids.push(...tree(table, shim).filter((p) => !spares.includes(p)));
    }
    const init = states.get(id)?.pid;
    if (init !== undefined) cgroup += cgroupMemory(init);
  }
  const argv0 = new Map(table.map((p) => [p.pid, p.argv[0] ?? ""]));
  const isRunc = (pid: number) => /(^|\/)runc$/.test(argv0.get(pid) ?? "");
  const rest = pids.filter((p) => !shims.includes(p));
  const [shim, runc, container] = [
    treeMem(shims),
    treeMem(rest.filter(isRunc)),
    treeMem(rest.filter((p) => !isRunc(p))),
  ];
  // The parts cover every pid once, so their sum is the total without reading /proc again.
  const sum = (k: keyof TreeMem) => shim[k] + runc[k] + container[k];
  const parts: MemoryParts = { shim: shim.pss, runc: runc.pss, container: container.pss };
  return { processes: sum("processes"), rss: sum("rss"), hwm: sum("hwm"), pss: sum("pss"), cgroup, parts };
}

async function removeAll(b: Bench, ids: readonly string[]): Promise<void> {
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift())
        await b.ctd.removeContainer(id, { timeoutMs: 30_000 });
    }),
  );
  // The shims exit after their last Delete; wait so the next case starts on a quiet machine.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && ids.some((id) => shimPid(processTable(), b.ctd.socket, id) !== undefined))
    await sleep(200);
}

const roundSample = (s: MemorySample): MemorySample => ({
  processes: s.processes,
  rss: round(s.rss),
  hwm: round(s.hwm),
  pss: round(s.pss),
  cgroup: round(s.cgroup),
});

/**
 * How long a task is left before it is measured: a shim daemon compacts its heap 10 s after it
 * serves, and the runner when its guest first waits (docs/architecture.md), so this is the memory
 * an idle task keeps, not what its start-up left.
 */
const SETTLE_MS = 11_000;

/** One idle task per case, sampled every 0.5 s after the settle. */
export async function memory(b: Bench, cases: readonly LongCase[], log: (m: string) => void): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  for (const c of cases) {
    const id = nextId(b, `mem-${c.engine}`);
    try {
      const started = await startDetached(b, c, id);
      if (!started.ok) {
        results.push({ label: c.label, engine: c.engine, error: started.err.slice(0, 300) });
        continue;
      }
      await sleep(SETTLE_MS);
      const samples: Awaited<ReturnType<typeof measure>>[] = [];
      for (let i = 0; i < 6; i++) {
        samples.push(await measure(b, [id], c.engine));
        await sleep(500);
      }
      const pick = (k: keyof MemorySample) => median(samples.map((s) => s[k]));
      const steady: MemorySample = {
        processes: pick("processes"),
        rss: pick("rss"),
        hwm: pick("hwm"),
        pss: pick("pss"),
        cgroup: pick("cgroup"),
      };
      const last = samples.at(-1)!.parts;
      const r: MemoryResult = {
        label: c.label,
        engine: c.engine,
        parts: { shim: round(last.shim), runc: round(last.runc), container: round(last.container) },
        steady: roundSample(steady),
        peak: {
          hwm: round(Math.max(...samples.map((s) => s.hwm))),
          rss: round(Math.max(...samples.map((s) => s.rss))),
        },
        processes: steady.processes,
      };
      results.push(r);
      log(
        `  ${c.label}: steady RSS ${r.steady!.rss} MB, PSS ${r.steady!.pss} MB, peak ${r.peak!.hwm} MB (${r.processes} processes)`,
      );
      // After the samples: the calls must not be in the memory they measure.
      const stats = await statsCost(b, id).catch((e: Error) => void log(`  ${c.label}: stats: ${e.message}`));
      if (stats) {
        r.stats = stats;
        log(`  ${c.label}: Stats ${stats.shimCpuMs} ms of the shim's CPU per call`);
      }
    } finally {
      await removeAll(b, [id]);
    }
  }
  return results;
}

/** N idle tasks started at once, per case; the cases alternate order between sizes. */
export async function density(
  b: Bench,
  cases: readonly LongCase[],
  sizes: readonly number[],
  log: (m: string) => void,
): Promise<DensityResult[]> {
  const results: DensityResult[] = [];
  for (const [si, n] of sizes.entries()) {
    const order = si % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const ids = Array.from({ length: n }, () => nextId(b, `dens-${c.engine}`));
      try {
        const t0 = wallMs();
        const outcomes = await Promise.all(
          ids.map((id) => startDetached(b, c, id).then((o) => ({ ...o, t: wallMs() }))),
        );
        const failed = outcomes.filter((o) => !o.ok);
        const states = await taskStates(b);
        const running = ids.filter((id) => states.get(id)?.status === "RUNNING").length;
        if (failed.length > 0 || running < n) {
          results.push({
            label: c.label,
            engine: c.engine,
            n,
            running,
            error: `${failed.length} of ${n} failed to start, ${running} running: ${failed[0]?.err.slice(0, 200) ?? ""}`,
          });
          log(`  ${c.label} ×${n}: ${results.at(-1)!.error}`);
          continue;
        }
        const allRunningMs = Math.max(...outcomes.map((o) => o.t)) - t0;
        await sleep(SETTLE_MS);
        const m = await measure(b, ids, c.engine);
        const total: MemorySample = { processes: m.processes, rss: m.rss, hwm: m.hwm, pss: m.pss, cgroup: m.cgroup };
        const perTask: MemorySample = {
          processes: m.processes / n,
          rss: m.rss / n,
          hwm: m.hwm / n,
          pss: m.pss / n,
          cgroup: m.cgroup / n,
        };
        const r: DensityResult = {
          label: c.label,
          engine: c.engine,
          n,
          running,
          allRunningMs: round(allRunningMs, 0),
          total: roundSample(total),
          perTask: roundSample(perTask),
          startRate: round((n * 1000) / allRunningMs, 2),
        };
        results.push(r);
        log(
          `  ${c.label} ×${n}: all running after ${r.allRunningMs} ms; RSS ${r.total!.rss} MB (${r.perTask!.rss} per task), PSS ${r.total!.pss} MB (${r.perTask!.pss} per task)`,
        );
      } finally {
        await removeAll(b, ids);
      }
    }
  }
  return results;
}

export function memorySection(memory: readonly MemoryResult[]): string {
  const rows = memory.map((m) => [
    m.label,
    f(m.steady?.rss, 1),
    f(m.steady?.pss, 1),
    f(m.peak?.hwm, 1),
    m.parts ? `${f(m.parts.shim, 1)} / ${f(m.parts.runc, 1)} / ${f(m.parts.container, 1)}` : "–",
    f(m.steady?.cgroup, 1),
    f(m.processes),
    m.error ? m.error.replace(/\n/g, " ").slice(0, 120) : "",
  ]);
  return table(
    [
      "task",
      "steady RSS MB",
      "steady PSS MB",
      "peak (Σ VmHWM) MB",
      "PSS shim / runc / container MB",
      "container cgroup MB",
      "processes",
      "note",
    ],
    rows,
  );
}
