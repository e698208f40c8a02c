import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary, fromJson } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsSchema as V1 } from "../../src/gen/cgroups/v1/metrics_pb.ts";
import { MetricsSchema as V2 } from "../../src/gen/cgroups/v2/metrics_pb.ts";
import { Runc } from "../../src/runc/runc.ts";
import { parseIoStat, parseKeyed, parsePressure, readCgroup2 } from "../../src/task/cgroup2.ts";
import { oomKills } from "../../src/task/oom.ts";
import { taskMetrics } from "../../src/task/stats.ts";

const fixture = fileURLToPath(new URL("fixtures/cgroup2/oom-killed", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "cgroup2-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A runc state root whose container `id` has the given cgroup paths, as runc's state.json records them. */
function runcRoot(id: string, paths: Record<string, string>): Runc {
  const root = mkdtempSync(join(scratch, "runc-"));
  mkdirSync(join(root, id));
  writeFileSync(join(root, id, "state.json"), JSON.stringify({ id, cgroup_paths: paths }));
  return new Runc({ binary: "runc", root, systemdCgroup: false });
}

describe("cgroup v2 metrics from a live v2 hierarchy", () => {
  it("reads a fresh cgroup in a v2 hierarchy mounted in a private mount namespace", () => {
    // This machine's v2 hierarchy only has the core files (cpu.stat, the pressure files); a cgroup
    // v2 host also delegates memory, and the probe then has the kernel OOM-kill a process there.
    const mnt = mkdtempSync(join(scratch, "mnt-"));
    const probe = fileURLToPath(new URL("cgroup2-probe.ts", import.meta.url));
    const run = spawnSync(
      "unshare",
      ["-m", "sh", "-c", 'mount -t cgroup2 none "$1" && exec "$0" "$2" "$1"', process.execPath, mnt, probe],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(run.stderr.replace(/.*ExperimentalWarning.*\n|.*--trace-warnings.*\n/g, "")).toBe("");
    expect(run.status).toBe(0);
    const { controllers, oom, metrics } = JSON.parse(run.stdout) as {
      controllers: string[];
      oom: string | null;
      metrics: unknown;
    };
    const m = fromJson(V2, metrics as never);
    // The probe's shell loop ran in the cgroup: the kernel counted its CPU time.
    expect(m.cpu?.usageUsec).toBeGreaterThan(10_000n);
    // Each is the kernel's nanoseconds divided by 1000 on its own: their sum may be off by the rounding.
    expect(Math.abs(Number(m.cpu!.usageUsec - m.cpu!.userUsec - m.cpu!.systemUsec))).toBeLessThanOrEqual(2);
    expect(m.cpu?.psi?.some?.total).toBeGreaterThanOrEqual(0n);
    if (controllers.includes("memory")) {
      expect(oom).toBe("SIGKILL");
      expect(m.memoryEvents?.oomKill).toBeGreaterThanOrEqual(1n);
      expect(m.memory?.usageLimit).toBe(16n << 20n);
    } else {
      expect(m.memoryEvents).toBeUndefined();
    }
  });
});

describe("cgroup v2 metrics from the files of an OOM-killed container", () => {
  it("fills Metrics the way containerd's runc shim does, memory events included", async () => {
    const m = await readCgroup2(fixture);
    expect(m.memoryEvents).toMatchObject({ low: 0n, high: 0n, max: 41n, oom: 1n, oomKill: 1n, oomGroupKill: 0n });
    expect(m.memory).toMatchObject({
      anon: 69_632n,
      file: 1_232_896n,
      inactiveFile: 1_191_936n,
      pgfault: 17_614n,
      pgmajfault: 24n,
      usage: 1_642_496n,
      usageLimit: 33_554_432n,
      maxUsage: 33_554_432n,
      swapUsage: 0n,
      workingsetRefaultFile: 131n,
    });
    expect(m.memory?.swapLimit).toBe(2n ** 64n - 1n);
    expect(m.memory?.psi?.full).toMatchObject({ avg10: 1.21, total: 40_017n });
    expect(m.cpu).toMatchObject({
      usageUsec: 412_730n,
      userUsec: 101_204n,
      systemUsec: 311_526n,
      nrPeriods: 31n,
      nrThrottled: 4n,
      throttledUsec: 91_233n,
    });
    expect(m.pids).toMatchObject({ current: 0n, limit: 128n });
    expect(m.io?.usage).toHaveLength(2);
    expect(m.io?.usage[1]).toMatchObject({ major: 254n, minor: 1n, rbytes: 4096n, wbytes: 8192n, rios: 1n, wios: 2n });
    expect(m.hugetlb).toEqual([
      expect.objectContaining({ pagesize: "2MB", current: 0n, max: 2n ** 64n - 1n, failcnt: 0n }),
    ]);
    expect(await oomKills(fixture)).toBe(1);
  });

  it("answers Stats with io.containerd.cgroups.v2.Metrics from the cgroup runc recorded, and counts its OOM kills", async () => {
    const runc = runcRoot("c1", { "": fixture });
    const metrics = await taskMetrics(runc, "c1", false, true);
    expect(metrics?.any.typeUrl).toBe("io.containerd.cgroups.v2.Metrics");
    expect(metrics?.oomKills).toBe(1);
    // What containerd 2.3's CRI checks after an exit with 137.
    expect(fromBinary(V2, metrics!.any.value).memoryEvents?.oomKill).toBe(1n);
    expect(await taskMetrics(runcRoot("c2", {}), "c2", false, true)).toBeUndefined();
  });

  it("reads a stopped cgroup v1 container from its files, with memory.oom_control", async () => {
    const memory = mkdtempSync(join(scratch, "memory-"));
    const cpuacct = mkdtempSync(join(scratch, "cpuacct-"));
    writeFileSync(join(memory, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    writeFileSync(join(memory, "memory.usage_in_bytes"), "1048576\n");
    writeFileSync(join(memory, "memory.max_usage_in_bytes"), "33554432\n");
    writeFileSync(join(memory, "memory.limit_in_bytes"), "33554432\n");
    writeFileSync(join(memory, "memory.stat"), "cache 0\nrss 4096\ntotal_rss 8192\ntotal_inactive_file 12288\n");
    writeFileSync(join(cpuacct, "cpuacct.usage"), "123456789\n");
    writeFileSync(join(cpuacct, "cpuacct.usage_percpu"), "100000000 23456789 \n");
    writeFileSync(join(cpuacct, "cpuacct.stat"), "user 3\nsystem 9\n");
    const metrics = await taskMetrics(runcRoot("v1", { memory, cpuacct }), "v1", false, false);
    expect(metrics?.oomKills).toBe(2);
    const m = fromBinary(V1, metrics!.any.value);
    expect(m.memoryOomControl).toMatchObject({ oomKill: 2n, underOom: 0n });
    expect(m.memory?.usage).toMatchObject({ usage: 1_048_576n, max: 33_554_432n, limit: 33_554_432n });
    expect(m.memory?.totalRss).toBe(8192n);
    expect(m.cpu?.usage).toMatchObject({
      total: 123_456_789n,
      perCpu: [100_000_000n, 23_456_789n],
      user: 30_000_000n,
      kernel: 90_000_000n,
    });
  });
});

describe("cgroup v2 file formats", () => {
  it("parses flat-keyed files, pressure lines and io.stat, skipping what does not fit", () => {
    expect(parseKeyed("oom 1\noom_kill 18446744073709551615\nbroken\n\n")).toEqual(
      new Map([
        ["oom", 1n],
        ["oom_kill", 18_446_744_073_709_551_615n],
      ]),
    );
    expect(parsePressure("some avg10=0.50 avg60=0.10 avg300=0.00 total=42\n")).toEqual({
      some: { avg10: 0.5, avg60: 0.1, avg300: 0, total: 42n },
    });
    expect(parsePressure("")).toBeUndefined();
    expect(parseIoStat("8:16 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\nnonsense\n")).toEqual([
      { major: 8n, minor: 16n, rbytes: 10n, wbytes: 20n, rios: 1n, wios: 2n },
    ]);
  });

  it("reads a directory without controllers as zeros, with no memory events at all", async () => {
    const empty = mkdtempSync(join(scratch, "empty-"));
    const m = await readCgroup2(empty);
    expect(m.memoryEvents).toBeUndefined();
    expect(m.cpu?.usageUsec).toBe(0n);
    expect(m.hugetlb).toEqual([]);
  });
});
