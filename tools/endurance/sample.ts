import { readdirSync } from "node:fs";
import { procMem } from "../benchmark/procmem.ts";
import { round } from "../benchmark/stats.ts";

/** One look at a process: memory in MB (10^6 bytes) and its open file descriptors. */
export interface ProcSample {
  /** Seconds since the measurement began. */
  t: number;
  rssMB: number;
  pssMB: number;
  /** RSS split: the process's own memory, and pages mapped from files (its executable). Absent in older runs. */
  anonMB?: number;
  fileMB?: number;
  fds: number;
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

export function sampleProc(pid: number, t: number): ProcSample {
  const m = procMem(pid);
  const mb = (kb: number) => round((kb * 1024) / 1e6, 2);
  return {
    t: round(t, 1),
    rssMB: mb(m.rss),
    pssMB: mb(m.pss),
    anonMB: mb(m.rssAnon),
    fileMB: mb(m.rssFile),
    fds: fdCount(pid),
  };
}

/** Least-squares slope of y over x. NaN with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) return Number.NaN;
  return points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

/** The rule by which a long-lived process's memory counts as flat; written into the report. */
export const flatRule = {
  /** Samples from the first part of the run are left out: heaps and JIT caches grow while warming up. */
  warmupFraction: 0.2,
  /** Allowed growth of the least-squares line through the rest, MB per hour (PSS and RSS). */
  maxSlopeMBPerHour: 1,
  /** Allowed difference between the last and the first open-fd count after warm-up. */
  maxFdGrowth: 2,
  /** Fewer samples than this after warm-up, or a shorter span: too short to tell. */
  minSamples: 10,
  minSpanS: 600,
};

export interface Flatness {
  verdict: "flat" | "growing" | "too short";
  samples: number;
  /** Seconds of samples the fit covers. */
  spanS: number;
  pssSlopeMBPerHour: number;
  rssSlopeMBPerHour: number;
  /** The slopes of RSS's two parts, when the samples have them. */
  anonSlopeMBPerHour?: number;
  fileSlopeMBPerHour?: number;
  fdGrowth: number;
  /** Mean PSS after warm-up, MB. */
  meanPssMB: number;
}

/**
 * Whether memory stays flat: the least-squares line of PSS and RSS over the samples after warm-up
 * rises by at most `maxSlopeMBPerHour`, and the fd count does not grow. A slope, not first against
 * last, because a garbage-collected heap saws up and down between collections.
 */
export function flatness(samples: readonly ProcSample[]): Flatness {
  const live = samples.filter((s) => s.rssMB > 0);
  const start = live.length > 0 ? live[0]!.t + (live.at(-1)!.t - live[0]!.t) * flatRule.warmupFraction : 0;
  const rest = live.filter((s) => s.t >= start);
  const perHour = (key: "pssMB" | "rssMB" | "anonMB" | "fileMB") =>
    round(slope(rest.map((s) => ({ x: s.t / 3600, y: s[key] ?? Number.NaN }))), 2);
  const pss = perHour("pssMB");
  const rss = perHour("rssMB");
  const fdGrowth = rest.length > 0 ? rest.at(-1)!.fds - rest[0]!.fds : 0;
  const spanS = rest.length > 1 ? round(rest.at(-1)!.t - rest[0]!.t, 0) : 0;
  const meanPssMB = round(rest.reduce((s, x) => s + x.pssMB, 0) / Math.max(1, rest.length), 1);
  const split =
    rest.length > 0 && rest.every((s) => s.anonMB !== undefined)
      ? { anonSlopeMBPerHour: perHour("anonMB"), fileSlopeMBPerHour: perHour("fileMB") }
      : {};
  const base = {
    samples: rest.length,
    spanS,
    pssSlopeMBPerHour: pss,
    rssSlopeMBPerHour: rss,
    ...split,
    fdGrowth,
    meanPssMB,
  };
  if (rest.length < flatRule.minSamples || spanS < flatRule.minSpanS) return { verdict: "too short", ...base };
  const flat =
    pss <= flatRule.maxSlopeMBPerHour && rss <= flatRule.maxSlopeMBPerHour && fdGrowth <= flatRule.maxFdGrowth;
  return { verdict: flat ? "flat" : "growing", ...base };
}
