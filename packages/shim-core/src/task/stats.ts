import { existsSync } from "node:fs";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Metrics as V2Metrics } from "../gen/cgroups/v2/metrics_pb.ts";
import { MetricsSchema as V1Metrics } from "../gen/wire/cgroups/v1/metrics.ts";
import { MetricsSchema as V2MetricsSchema } from "../gen/wire/cgroups/v2/metrics.ts";
import { encode, type InitOf } from "../wire/codec.ts";
import type { OciRuntime, RuncStats } from "../runc/oci-runtime.ts";
import { readCgroup1 } from "./cgroup1.ts";
import { readCgroup2 } from "./cgroup2.ts";
import { oomControl } from "./oom.ts";

const big = (n: number | undefined) => BigInt(Math.max(0, Math.trunc(n ?? 0)));
const entry = (e: { limit?: number; usage?: number; max?: number; failcnt?: number } | undefined) =>
  e && { limit: big(e.limit), usage: big(e.usage), max: big(e.max), failcnt: big(e.failcnt) };

/** cgroup v2 is the unified hierarchy mounted at /sys/fs/cgroup itself (not hybrid's /unified). */
export const unifiedCgroups = () => existsSync("/sys/fs/cgroup/cgroup.controllers");

/** runc's view of a cgroup v1 container, plus memory.oom_control, which runc 1.1 does not report. */
export function v1(s: RuncStats, oom?: InitOf<typeof V1Metrics>["memoryOomControl"]): Any {
  const raw = s.memory?.raw ?? {};
  const value = encode(V1Metrics, {
    pids: { current: big(s.pids?.current), limit: big(s.pids?.limit) },
    cpu: {
      usage: {
        total: big(s.cpu?.usage?.total),
        kernel: big(s.cpu?.usage?.kernel),
        user: big(s.cpu?.usage?.user),
        perCpu: (s.cpu?.usage?.percpu ?? []).map(big),
      },
      throttling: {
        periods: big(s.cpu?.throttling?.periods),
        throttledPeriods: big(s.cpu?.throttling?.throttled_periods),
        throttledTime: big(s.cpu?.throttling?.throttled_time),
      },
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
    ...(oom ? { memoryOomControl: oom } : {}),
  });
  return { $typeName: "google.protobuf.Any", typeUrl: V1Metrics.typeName, value };
}

function v2(metrics: V2Metrics): Any {
  return {
    $typeName: "google.protobuf.Any",
    typeUrl: V2MetricsSchema.typeName,
    value: encode(V2MetricsSchema, metrics),
  };
}

/** Which cgroup Metrics a task's Stats carries, and what the kernel counted as OOM kills there. */
export interface TaskMetrics {
  any: Any;
  oomKills: number;
}

/**
 * A task's metrics as the Any CRI's ContainerStats decodes: `io.containerd.cgroups.v2.Metrics`
 * on a cgroup v2 host, `…v1.Metrics` otherwise, both from the cgroups' files, each with the OOM
 * kill count containerd 2.3's CRI reads. The cgroups are the ones runc recorded for the container.
 */
export async function taskMetrics(
  runtime: OciRuntime,
  id: string,
  running: boolean,
  unified = unifiedCgroups(),
): Promise<TaskMetrics | undefined> {
  const paths = await runtime.cgroupPaths(id);
  if (unified) {
    if (!paths[""]) return undefined;
    const metrics = await readCgroup2(paths[""]);
    return { any: v2(metrics), oomKills: Number(metrics.memoryEvents?.oomKill ?? 0n) };
  }
  if (!paths["memory"] && (!running || Object.keys(paths).length === 0)) return undefined;
  const oom = await oomControl(paths["memory"]);
  // The files `runc events --stats` reads, without a Go process per call: kubelet asks for every
  // pod's stats every 10 s.
  const stats = await readCgroup1(paths);
  return { any: v1(stats, oom), oomKills: Number(oom?.oomKill ?? 0n) };
}
