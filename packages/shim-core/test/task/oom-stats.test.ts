import { afterAll, describe, expect, it } from "vitest";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { MetricsSchema as V1 } from "../../src/gen/cgroups/v1/metrics_pb.ts";
import { MetricsSchema as V2 } from "../../src/gen/cgroups/v2/metrics_pb.ts";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import type { Any, AnySchema } from "@bufbuild/protobuf/wkt";
import { Status } from "../../src/gen/containerd/types/task_pb.ts";
import { Code, ShimError } from "../../src/errors.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { RuncService } from "./runc-service.ts";

// containerd 2.3's CRI, seeing a container exit with 137, asks the task's Stats whether the kernel
// OOM-killed it (cgroup v1 memory_oom_control.oom_kill, v2 memory_events.oom_kill) before it deletes
// the task. These run on the machine's own cgroups: v1 here, v2 on a v2 host (CI).
const rs = new RuncService();
afterAll(() => rs.close());

/** The OOM kill count in a Stats answer, whichever cgroup version the host has. */
function oomKills(init: MessageInitShape<typeof AnySchema> | undefined): bigint | undefined {
  const any = init as Any | undefined;
  if (any?.typeUrl === V1.typeName) return fromBinary(V1, any.value).memoryOomControl?.oomKill;
  if (any?.typeUrl === V2.typeName) return fromBinary(V2, any.value).memoryEvents?.oomKill;
  throw new Error(`unexpected metrics type ${any?.typeUrl}`);
}

const limit = 32 * 1024 * 1024;
const limited = (spec: Parameters<Parameters<RuncService["request"]>[1] & object>[0]) => {
  spec.linux = { ...spec.linux, resources: { ...spec.linux?.resources, memory: { limit, swap: limit } } };
};

describe("Stats and OOM kills", () => {
  it("answers Stats after an OOM kill, until Delete, with the kernel's oom_kill count", async () => {
    const { id, req } = rs.request(
      ["/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
      limited,
    );
    await rs.svc.create(req);
    await rs.svc.start(create(pb.StartRequestSchema, { id }));
    expect(await rs.svc.wait(create(pb.WaitRequestSchema, { id }))).toMatchObject({ exitStatus: 137 });
    const after = await rs.svc.stats(create(pb.StatsRequestSchema, { id }));
    expect(oomKills(after.stats)).toBeGreaterThanOrEqual(1n);
    expect(rs.topics()).toEqual(["/tasks/create", "/tasks/start", "/tasks/oom", "/tasks/exit"]);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
    await expect(rs.svc.stats(create(pb.StatsRequestSchema, { id }))).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });

  it("reports no OOM kill for a task that ended on its own, while running and after", async () => {
    const { id, req } = rs.request(["/bin/busybox", "sleep", "100"], limited);
    const before = rs.events.length;
    await rs.svc.create(req);
    await rs.svc.start(create(pb.StartRequestSchema, { id }));
    const running = await rs.svc.stats(create(pb.StatsRequestSchema, { id }));
    expect(oomKills(running.stats)).toBe(0n);
    await rs.svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    expect(await rs.svc.wait(create(pb.WaitRequestSchema, { id }))).toMatchObject({ exitStatus: 137 });
    expect(oomKills((await rs.svc.stats(create(pb.StatsRequestSchema, { id }))).stats)).toBe(0n);
    expect(rs.topics().slice(before)).toEqual(["/tasks/create", "/tasks/start", "/tasks/exit"]);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
  });

  it("publishes TaskOOM when the kernel kills a process while the task goes on, and not again at its exit", async () => {
    const { id, req } = rs.request(
      [
        "/bin/busybox",
        "sh",
        "-c",
        "/bin/busybox dd if=/dev/zero of=/dev/null bs=200M count=1; exec /bin/busybox sleep 100",
      ],
      limited,
    );
    const before = rs.events.length;
    await rs.svc.create(req);
    await rs.svc.start(create(pb.StartRequestSchema, { id }));
    await eventually(() => expect(rs.topics().slice(before)).toEqual(["/tasks/create", "/tasks/start", "/tasks/oom"]));
    expect(await rs.svc.state(create(pb.StateRequestSchema, { id }))).toMatchObject({ status: Status.RUNNING });
    await rs.svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await rs.svc.wait(create(pb.WaitRequestSchema, { id }));
    expect(oomKills((await rs.svc.stats(create(pb.StatsRequestSchema, { id }))).stats)).toBe(1n);
    expect(rs.topics().slice(before)).toEqual(["/tasks/create", "/tasks/start", "/tasks/oom", "/tasks/exit"]);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
  });

  it("still says NOT_FOUND for a task created but never started", async () => {
    const { id, req } = rs.request(["/bin/busybox", "true"]);
    await rs.svc.create(req);
    await expect(rs.svc.stats(create(pb.StatsRequestSchema, { id }))).rejects.toBeInstanceOf(ShimError);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
