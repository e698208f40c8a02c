import { existsSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { MetricsSchema as V1Metrics } from "../gen/cgroups/v1/metrics_pb.ts";
import { MetricsSchema as V2Metrics } from "../gen/cgroups/v2/metrics_pb.ts";
import type { RuncStats } from "../runc/runc.ts";

const big = (n: number | undefined) => BigInt(Math.max(0, Math.trunc(n ?? 0)));
const entry = (e: { limit?: number; usage?: number; max?: number; failcnt?: number } | undefined) =>
  e && { limit: big(e.limit), usage: big(e.usage), max: big(e.max), failcnt: big(e.failcnt) };

/** cgroup v2 is the unified hierarchy mounted at /sys/fs/cgroup itself (not hybrid's /unified). */
export const unifiedCgroups = () => existsSync("/sys/fs/cgroup/cgroup.controllers");

function v1(s: RuncStats): Any {
  const raw = s.memory?.raw ?? {};
  const metrics = create(V1Metrics, {
    pids: { current: big(s.pids?.current), limit: big(s.pids?.limit) },
    cpu: {
      usage: { total: big(s.cpu?.usage?.total), kernel: big(s.cpu?.usage?.kernel), user: big(s.cpu?.usage?.user), perCpu: (s.cpu?.usage?.percpu ?? []).map(big) },
      throttling: { periods: big(s.cpu?.throttling?.periods), throttledPeriods: big(s.cpu?.throttling?.throttled_periods), throttledTime: big(s.cpu?.throttling?.throttled_time) },
    },
    memory: {
      cache: big(raw.cache),
      rss: big(raw.rss),
      rssHuge: big(raw.rss_huge),
      mappedFile: big(raw.mapped_file),
      pgFault: big(raw.pgfault),
      pgMajFault: big(raw.pgmajfault),
      inactiveAnon: big(raw.inactive_anon),
      activeAnon: big(raw.active_anon),
      inactiveFile: big(raw.inactive_file),
      activeFile: big(raw.active_file),
      unevictable: big(raw.unevictable),
      totalCache: big(raw.total_cache),
      totalRss: big(raw.total_rss),
      totalMappedFile: big(raw.total_mapped_file),
      totalPgFault: big(raw.total_pgfault),
      totalPgMajFault: big(raw.total_pgmajfault),
      totalInactiveAnon: big(raw.total_inactive_anon),
      totalActiveAnon: big(raw.total_active_anon),
      totalInactiveFile: big(raw.total_inactive_file),
      totalActiveFile: big(raw.total_active_file),
      totalUnevictable: big(raw.total_unevictable),
      usage: entry(s.memory?.usage),
      swap: entry(s.memory?.swap),
      kernel: entry(s.memory?.kernel),
      kernelTcp: entry(s.memory?.kernelTCP),
    },
  });
  return { $typeName: "google.protobuf.Any", typeUrl: V1Metrics.typeName, value: toBinary(V1Metrics, metrics) };
}

function v2(s: RuncStats): Any {
  const raw = s.memory?.raw ?? {};
  const metrics = create(V2Metrics, {
    pids: { current: big(s.pids?.current), limit: big(s.pids?.limit) },
    cpu: {
      usageUsec: big((s.cpu?.usage?.total ?? 0) / 1000),
      userUsec: big((s.cpu?.usage?.user ?? 0) / 1000),
      systemUsec: big((s.cpu?.usage?.kernel ?? 0) / 1000),
      nrPeriods: big(s.cpu?.throttling?.periods),
      nrThrottled: big(s.cpu?.throttling?.throttled_periods),
      throttledUsec: big((s.cpu?.throttling?.throttled_time ?? 0) / 1000),
    },
    memory: {
      anon: big(raw.anon),
      file: big(raw.file),
      kernelStack: big(raw.kernel_stack),
      slab: big(raw.slab),
      sock: big(raw.sock),
      shmem: big(raw.shmem),
      fileMapped: big(raw.file_mapped),
      inactiveAnon: big(raw.inactive_anon),
      activeAnon: big(raw.active_anon),
      inactiveFile: big(raw.inactive_file),
      activeFile: big(raw.active_file),
      unevictable: big(raw.unevictable),
      pgfault: big(raw.pgfault),
      pgmajfault: big(raw.pgmajfault),
      usage: big(s.memory?.usage?.usage),
      usageLimit: big(s.memory?.usage?.limit),
      swapUsage: big(s.memory?.swap?.usage),
      swapLimit: big(s.memory?.swap?.limit),
    },
  });
  return { $typeName: "google.protobuf.Any", typeUrl: V2Metrics.typeName, value: toBinary(V2Metrics, metrics) };
}

/** runc's stats as the Any that CRI's ContainerStats decodes: cgroups v1 or v2 Metrics by host. */
export function metricsAny(stats: RuncStats, unified = unifiedCgroups()): Any {
  return unified ? v2(stats) : v1(stats);
}
