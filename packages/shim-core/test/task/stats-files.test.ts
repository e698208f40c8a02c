import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { create, fromBinary } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { MetricsSchema as V1 } from "../../src/gen/cgroups/v1/metrics_pb.ts";
import { MetricsSchema as V2 } from "../../src/gen/cgroups/v2/metrics_pb.ts";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import type { RuncConfig, RuncStats } from "../../src/runc/oci-runtime.ts";
import { runcRuntime } from "../../src/runc/runc.ts";
import { unifiedCgroups, v1 } from "../../src/task/stats.ts";
import { RuncService } from "./runc-service.ts";

// kubelet asks for every pod's stats every 10 s. Stats reads the cgroups' files on both cgroup
// versions; a `runc events --stats` (a Go process) per call is what v1 hosts paid before. The
// service's runc is a wrapper that logs each command line.
const dir = mkdtempSync(join(tmpdir(), "runc-count-"));
const log = join(dir, "calls");
const runcCalls = (): string[] => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
let runcConfig: RuncConfig | undefined;
const rs = new RuncService((config) => {
  runcConfig = config;
  const wrapper = join(dir, "runc");
  writeFileSync(wrapper, `#!/bin/sh\necho " $* " >> ${log}\nexec ${config.binary} "$@"\n`, { mode: 0o755 });
  return runcRuntime({ ...config, binary: wrapper });
});
afterAll(() => rs.close());

const limit = 48 * 1024 * 1024;

describe("Stats of a running task", () => {
  it("comes from the cgroups' files, with what runc events --stats reports for them", async () => {
    const { id, req } = rs.request(["/bin/busybox", "sleep", "100"], (spec) => {
      spec.linux = {
        ...spec.linux,
        resources: { ...spec.linux?.resources, memory: { limit, swap: limit }, pids: { limit: 64 } },
      };
    });
    await rs.svc.create(req);
    await rs.svc.start(create(pb.StartRequestSchema, { id }));
    const any = (await rs.svc.stats(create(pb.StatsRequestSchema, { id }))).stats as Any;
    expect(runcCalls().some((l) => l.includes(" run "))).toBe(true);
    expect(runcCalls().filter((l) => l.includes(" events "))).toEqual([]);
    if (unifiedCgroups()) {
      const m = fromBinary(V2, any.value);
      expect(m.pids).toMatchObject({ current: 1n, limit: 64n });
      expect(m.memory?.usageLimit).toBe(BigInt(limit));
    } else {
      // runc's own figures for the same cgroups, taken just after: counters may only have grown.
      const ours = fromBinary(V1, any.value);
      const out = execFileSync(runcConfig!.binary, ["--root", runcConfig!.root, "events", "--stats", id], {
        encoding: "utf8",
      });
      const runc = fromBinary(V1, v1((JSON.parse(out) as { data: RuncStats }).data).value);
      expect(ours.pids).toEqual(runc.pids);
      expect(ours.pids).toMatchObject({ current: 1n, limit: 64n });
      expect(ours.memory?.usage?.limit).toBe(BigInt(limit));
      expect(ours.memory?.usage?.limit).toBe(runc.memory?.usage?.limit);
      expect(ours.memory?.swap?.limit).toBe(runc.memory?.swap?.limit);
      expect(ours.memory?.usage?.usage).toBeGreaterThan(0n);
      expect(ours.memory?.rss).toBe(runc.memory?.rss);
      expect(ours.memory?.totalRss).toBe(runc.memory?.totalRss);
      expect(ours.cpu?.usage?.perCpu.length).toBe(runc.cpu?.usage?.perCpu.length);
      expect(ours.cpu?.usage?.total).toBeGreaterThan(0n);
      expect(ours.cpu?.usage?.total).toBeLessThanOrEqual(runc.cpu!.usage!.total);
      expect(ours.cpu?.usage?.user).toBeLessThanOrEqual(runc.cpu!.usage!.user);
      expect(ours.memory?.pgFault).toBeLessThanOrEqual(runc.memory!.pgFault);
    }
    await rs.svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await rs.svc.wait(create(pb.WaitRequestSchema, { id }));
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
