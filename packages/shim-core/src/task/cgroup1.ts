import { join } from "node:path";
import type { RuncStats } from "../runc/oci-runtime.ts";
import { readCgroupFile } from "./cgroup-file.ts";
import { parseKeyed } from "./cgroup2.ts";

// USER_HZ, the unit of cpuacct.stat, is 100 on every Linux architecture.
const NS_PER_TICK = 10_000_000;

async function text(dir: string | undefined, file: string): Promise<string | undefined> {
  return dir === undefined ? undefined : readCgroupFile(join(dir, file));
}

async function num(dir: string | undefined, file: string): Promise<number | undefined> {
  const t = (await text(dir, file))?.trim();
  return t && /^\d+$/.test(t) ? Number(t) : undefined;
}

async function entry(dir: string | undefined, prefix: string) {
  const [usage, limit, max, failcnt] = await Promise.all(
    ["usage_in_bytes", "limit_in_bytes", "max_usage_in_bytes", "failcnt"].map((f) => num(dir, `${prefix}.${f}`)),
  );
  return usage === undefined ? undefined : { usage, limit: limit ?? 0, max: max ?? 0, failcnt: failcnt ?? 0 };
}

const withEntry = <K extends string, V>(key: K, value: V | undefined) =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

/**
 * A cgroup v1 container's counters from its controllers' files, in the shape `runc events --stats`
 * prints and from the same files, for a running container and for a stopped one whose cgroups
 * `run --keep` has kept (when containerd 2.3's CRI asks for them; runc answers only while it runs).
 */
export async function readCgroup1(paths: Record<string, string>): Promise<RuncStats> {
  const cpuacct = paths["cpuacct"];
  const memory = paths["memory"];
  const ticks = parseKeyed((await text(cpuacct, "cpuacct.stat")) ?? "");
  const throttling = parseKeyed((await text(paths["cpu"], "cpu.stat")) ?? "");
  const raw = Object.fromEntries(
    [...parseKeyed((await text(memory, "memory.stat")) ?? "")].map(([k, v]) => [k, Number(v)]),
  );
  const percpu = ((await text(cpuacct, "cpuacct.usage_percpu")) ?? "")
    .trim()
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
  const pidsMax = (await text(paths["pids"], "pids.max"))?.trim();
  return {
    cpu: {
      usage: {
        total: (await num(cpuacct, "cpuacct.usage")) ?? 0,
        percpu,
        user: Number(ticks.get("user") ?? 0n) * NS_PER_TICK,
        kernel: Number(ticks.get("system") ?? 0n) * NS_PER_TICK,
      },
      throttling: {
        periods: Number(throttling.get("nr_periods") ?? 0n),
        throttled_periods: Number(throttling.get("nr_throttled") ?? 0n),
        throttled_time: Number(throttling.get("throttled_time") ?? 0n),
      },
    },
    memory: {
      cache: raw["cache"] ?? 0,
      ...withEntry("usage", await entry(memory, "memory")),
      ...withEntry("swap", await entry(memory, "memory.memsw")),
      ...withEntry("kernel", await entry(memory, "memory.kmem")),
      ...withEntry("kernelTCP", await entry(memory, "memory.kmem.tcp")),
      raw,
    },
    pids: {
      current: (await num(paths["pids"], "pids.current")) ?? 0,
      limit: pidsMax && /^\d+$/.test(pidsMax) ? Number(pidsMax) : 0,
    },
  };
}
