/** What the daemon holds, read from /proc: memory, fds, children, mounts, and its files under /run. */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { isSpare } from "@wasm-shims/test-lab/leftovers.ts";
import { cgroupMounts, descendants, isUnder, listProcs } from "@wasm-shims/test-lab/procfs.ts";

export interface Sample {
  rssKiB: number;
  fds: number;
  /** What each fd points at, for a report when the count grew. */
  fdTargets: string[];
  children: string[];
  /** Mount points in the daemon's mount namespace. */
  mounts: string[];
}

function status(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

export function sample(pid: number): Sample {
  const fdDir = `/proc/${pid}/fd`;
  const fdTargets = readdirSync(fdDir).map((fd) => {
    try {
      return readlinkSync(join(fdDir, fd)).replace(/\[\d+\]$/, "[…]");
    } catch {
      return "(closed)";
    }
  });
  const mounts = readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4] ?? "");
  return {
    rssKiB: status(pid, "VmRSS"),
    fds: fdTargets.length,
    fdTargets,
    // A spare daemon is the next pod's daemon, started on purpose (shim-core's cli/spare.ts).
    children: descendants(listProcs(), [pid])
      .filter((p) => !isSpare(p))
      .map((p) => `pid ${p.pid}: ${p.argv.join(" ").slice(0, 200)}`),
    mounts,
  };
}

/** Every file below `dir`, as paths relative to it; [] if it does not exist. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(rel, name);
      out.push(path);
      try {
        if (statSync(join(dir, path)).isDirectory()) walk(path);
      } catch {
        // Removed while we looked.
      }
    }
  };
  walk("");
  return out;
}

/** Container cgroups runc left under `parent` in any hierarchy (the parent itself is ours to remove). */
export function cgroupsUnder(parent: string): string[] {
  return cgroupMounts().flatMap((m) => {
    try {
      return readdirSync(join(m, parent), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(m, parent, e.name));
    } catch {
      return [];
    }
  });
}

/** Multiset difference: what `after` has more of than `before`. */
export function grown(before: readonly string[], after: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const x of before) counts.set(x, (counts.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of after) {
    const n = counts.get(x) ?? 0;
    if (n > 0) counts.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

export interface Memory {
  peakKiB: number;
  earlyPeakKiB: number;
  earlyTroughKiB: number;
  lastTroughKiB: number;
  /** Lowest and highest RSS in each 10 s of the run. */
  seriesKiB: { second: number; low: number; high: number }[];
}

export function rssSampler(pid: number): { stop: () => Memory } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    try {
      samples.push(sample(pid).rssKiB);
    } catch {
      // The daemon is gone; the campaign reports that.
    }
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      const seriesKiB = [];
      for (let i = 0; i < samples.length; i += 40) {
        const w = samples.slice(i, i + 40);
        seriesKiB.push({ second: i / 4, low: Math.min(...w), high: Math.max(...w) });
      }
      const half = samples.slice(0, Math.max(1, Math.floor(samples.length / 2)));
      const third = samples.slice(-Math.max(1, Math.floor(samples.length / 3)));
      return {
        peakKiB: Math.max(...samples, 0),
        earlyPeakKiB: Math.max(...half, 0),
        earlyTroughKiB: Math.min(...half),
        lastTroughKiB: Math.min(...third),
        seriesKiB,
      };
    },
  };
}

/** Mounts in the fuzzer's directory that are not in a bundle: a rootfs mount that escaped. */
export function escapedMounts(s: Sample, dir: string): string[] {
  return s.mounts.filter((m) => isUnder(m, dir) && !isUnder(m, join(dir, "bundles")));
}

/** What the daemon holds at the end and did not after warming up. */
export function leaksBetween(start: Sample, end: Sample): string[] {
  const out: string[] = [];
  // A little slack: libuv and the events connection may open an fd lazily after the baseline.
  if (end.fds > start.fds + 3)
    out.push(`fds grew from ${start.fds} to ${end.fds}: ${grown(start.fdTargets, end.fdTargets).join(", ")}`);
  out.push(...grown(start.mounts, end.mounts).map((m) => `mount ${m}`));
  out.push(...grown(start.children, end.children).map((c) => `child process ${c}`));
  return out;
}
