import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MetricsSchema as V1 } from "../../src/gen/cgroups/v1/metrics_pb.ts";
import { v1 } from "../../src/task/stats.ts";
import type { RuncStats } from "../../src/runc/oci-runtime.ts";

const stats: RuncStats = {
  cpu: {
    usage: { total: 14_799_009, percpu: [11_263_682, 3_535_327], kernel: 0, user: 10_000_000 },
    throttling: { periods: 10, throttled_periods: 4, throttled_time: 745_000_000 },
  },
  memory: {
    usage: { limit: 67_108_864, usage: 458_752, max: 2_777_088, failcnt: 1 },
    raw: {
      total_rss: 300_000,
      total_inactive_file: 4096,
      total_pgfault: 77,
      rss: 1,
      anon: 200_000,
      inactive_file: 8192,
      pgfault: 9,
    },
  },
  pids: { current: 1, limit: 100 },
};

// cgroup v2 hosts: cgroup2.test.ts (the shim reads the cgroup's files there, not runc).
describe("cgroup v1 Metrics from runc's stats", () => {
  it("encodes io.containerd.cgroups.v1.Metrics with the fields CRI reads", () => {
    const any = v1(stats);
    expect(any.typeUrl).toBe("io.containerd.cgroups.v1.Metrics");
    const m = fromBinary(V1, any.value);
    expect(m.cpu?.usage?.total).toBe(14_799_009n);
    expect(m.cpu?.usage?.perCpu).toEqual([11_263_682n, 3_535_327n]);
    expect(m.cpu?.throttling?.throttledPeriods).toBe(4n);
    expect(m.memory?.usage).toMatchObject({ usage: 458_752n, limit: 67_108_864n, max: 2_777_088n, failcnt: 1n });
    expect(m.memory?.totalRss).toBe(300_000n);
    expect(m.memory?.totalInactiveFile).toBe(4096n);
    expect(m.memory?.totalPgFault).toBe(77n);
    expect(m.pids).toMatchObject({ current: 1n, limit: 100n });
  });

  it("adds memory.oom_control, whose oom_kill containerd 2.3's CRI reads after an exit", () => {
    expect(fromBinary(V1, v1(stats).value).memoryOomControl).toBeUndefined();
    expect(
      fromBinary(V1, v1(stats, { oomKill: 1n, underOom: 0n, oomKillDisable: 0n }).value).memoryOomControl?.oomKill,
    ).toBe(1n);
  });

  it("treats missing numbers as zero", () => {
    const m = fromBinary(V1, v1({}).value);
    expect(m.cpu?.usage?.total).toBe(0n);
  });
});
