import { readFileSync } from "node:fs";
import { wallMs } from "./clock.ts";
import type { Bench } from "./harness.ts";
import { f, table } from "./markdown.ts";
import type { MemoryResult } from "./memory.ts";
import { processTable, shimPid } from "./procmem.ts";
import { median, round } from "./stats.ts";

/** What one Stats of an idle task costs, as kubelet asks for every pod's every 10 s. */
export interface StatsCost {
  calls: number;
  /** CPU of the task's shim process and the children it waited for (a runc per call, if any), per call. */
  shimCpuMs: number;
  /** `ctr task metrics`, start to exit, median. */
  wallMs: number;
}

const CALLS = 40;
// USER_HZ: /proc's CPU times are in hundredths of a second on every Linux architecture.
const MS_PER_TICK = 10;

/** utime + stime + cutime + cstime of `pid`, ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of proc(5), counted from the state (field 3) at index 0.
  return fields.slice(11, 15).reduce((sum, t) => sum + Number(t), 0) * MS_PER_TICK;
}

/** Asks for task `id`'s metrics `CALLS` times through containerd, one after another. */
export async function statsCost(b: Bench, id: string): Promise<StatsCost | undefined> {
  const shim = shimPid(processTable(), b.ctd.socket, id);
  if (shim === undefined) return undefined;
  const before = cpuMs(shim);
  const walls: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = wallMs();
    const r = await b.ctd.ctr(["task", "metrics", id], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`ctr task metrics ${id}: ${r.stderr.trim()}`);
    walls.push(wallMs() - t0);
  }
  return { calls: CALLS, shimCpuMs: round((cpuMs(shim) - before) / CALLS, 2), wallMs: round(median(walls), 1) };
}

export function statsSection(memory: readonly MemoryResult[]): string {
  const rows = memory.map((m) => [m.label, f(m.stats?.shimCpuMs, 2), f(m.stats?.wallMs, 1), f(m.stats?.calls)]);
  return table(["task", "shim CPU ms per Stats", "ctr task metrics ms (median)", "calls"], rows);
}
