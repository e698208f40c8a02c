import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

type Read = (path: string) => string | undefined;

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The process's own cgroup directories to look in: the one /proc/self/cgroup names (a host, or a
 * cgroup namespace) and the mount's root (what runc shows a container without a cgroup namespace).
 */
function candidates(read: Read, v1Controller: string | undefined): string[] {
  const own = (read("/proc/self/cgroup") ?? "")
    .split("\n")
    .map((line) => line.split(":"))
    .find(([, controllers]) => (v1Controller ? controllers?.split(",").includes(v1Controller) : controllers === ""));
  const base = v1Controller
    ? `/sys/fs/cgroup/${v1Controller === "cpu" ? "cpu,cpuacct" : v1Controller}`
    : "/sys/fs/cgroup";
  const path = own?.slice(2).join(":");
  return [...(path && path !== "/" ? [`${base}${path}`] : []), base];
}

/** The CPU quota (CFS bandwidth) of this process's cgroup as a number of CPUs; undefined when there is none. */
export function cgroupCpuQuota(read: Read = tryRead): number | undefined {
  for (const dir of candidates(read, undefined)) {
    const max = read(`${dir}/cpu.max`);
    if (max === undefined) continue;
    const [quota, period] = max.trim().split(/\s+/);
    if (quota === "max") return undefined;
    const cpus = Number(quota) / Number(period ?? 100_000);
    return Number.isFinite(cpus) && cpus > 0 ? cpus : undefined;
  }
  for (const dir of [...candidates(read, "cpu"), "/sys/fs/cgroup/cpu"]) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    const period = read(`${dir}/cpu.cfs_period_us`);
    if (quota === undefined || period === undefined) continue;
    const cpus = Number(quota) / Number(period);
    return Number.isFinite(cpus) && cpus > 0 ? cpus : undefined;
  }
  return undefined;
}

/**
 * How many CPUs this container may use: its cpuset (the scheduler affinity libuv reads) capped by
 * its CPU quota (the spec's, which the runner passes on, else the cgroup's), rounded up so that a
 * quota of 1.5 CPUs is used in full.
 */
export function usableCpus(
  specQuota: number | undefined,
  read: Read = tryRead,
  parallelism = availableParallelism(),
): number {
  const quota = specQuota ?? cgroupCpuQuota(read);
  return Math.max(1, quota === undefined ? parallelism : Math.min(parallelism, Math.ceil(quota)));
}
