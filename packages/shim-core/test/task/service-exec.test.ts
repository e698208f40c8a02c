import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Status } from "../../src/gen/containerd/types/task_pb.ts";
import { Code, type ShimError } from "../../src/errors.ts";
import type { TaskService } from "../../src/task/service.ts";
import { RuncService } from "./runc-service.ts";

// Exec, State, Wait, Start, Pids and Delete of an exec process, on real runc: what an exec adds to
// the container, in its bundle and in the events, and how it ends.
let rs: RuncService;
let svc: TaskService;
const all: RuncService[] = [];
beforeEach(() => {
  rs = new RuncService();
  all.push(rs);
  svc = rs.svc;
});
afterAll(async () => {
  for (const s of all) await s.close();
});

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as ShimError).code;
  }
  return Code.OK;
};

describe("TaskService's execs with runc", () => {
  it("execs into a running container and reports the exec's own exit", async () => {
    const { id, req, bundle } = rs.request(["/bin/busybox", "sleep", "100"]);
    await svc.create(req);
    await svc.start(create(pb.StartRequestSchema, { id }));
    const spec = {
      args: ["/bin/busybox", "sh", "-c", "echo from-exec; exit 5"],
      cwd: "/",
      env: ["PATH=/bin"],
      user: { uid: 0, gid: 0 },
    };
    const execOut = join(bundle, "exec.out");
    writeFileSync(execOut, "");
    const execReq = create(pb.ExecProcessRequestSchema, {
      id,
      execId: "e1",
      stdout: `file://${execOut}`,
      spec: {
        $typeName: "google.protobuf.Any",
        typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
        value: new TextEncoder().encode(JSON.stringify(spec)),
      },
    });
    await svc.exec(execReq);
    expect(await code(svc.exec(execReq))).toBe(Code.ALREADY_EXISTS);
    expect(await svc.state(create(pb.StateRequestSchema, { id, execId: "e1" }))).toMatchObject({
      status: Status.CREATED,
      id: "e1",
    });
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id, execId: "e1" }));
    await svc.start(create(pb.StartRequestSchema, { id, execId: "e1" }));
    expect(await waiting).toMatchObject({ exitStatus: 5 });
    expect(readFileSync(execOut, "utf8")).toBe("from-exec\n");
    const pids = await svc.pids(create(pb.PidsRequestSchema, { id }));
    expect(pids.processes?.length).toBeGreaterThan(0);
    expect(readdirSync(bundle).filter((f) => f.startsWith("exec-"))).toEqual(["exec-e1.json", "exec-e1.pid"]);
    await svc.delete(create(pb.DeleteRequestSchema, { id, execId: "e1" }));
    expect(readdirSync(bundle).filter((f) => f.startsWith("exec-"))).toEqual([]);
    await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
    expect(rs.topics()).toEqual([
      "/tasks/create",
      "/tasks/start",
      "/tasks/exec-added",
      "/tasks/exec-started",
      "/tasks/exit",
      "/tasks/exit",
      "/tasks/delete",
    ]);
  });

  it("ends a Wait on a task or exec deleted before it started, and refuses an exec into a stopped task", async () => {
    // Found by tools/fuzz: a Delete of a never-started task left its Wait pending forever.
    const created = rs.request(["/bin/busybox", "true"]);
    await svc.create(created.req);
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id: created.id }));
    expect(await svc.delete(create(pb.DeleteRequestSchema, { id: created.id }))).toMatchObject({ exitStatus: 137 });
    expect(await waiting).toMatchObject({ exitStatus: 137 });

    const { id, req } = rs.request(["/bin/busybox", "sleep", "100"]);
    await svc.create(req);
    await svc.start(create(pb.StartRequestSchema, { id }));
    const spec = {
      $typeName: "google.protobuf.Any" as const,
      typeUrl: "x",
      value: new TextEncoder().encode(JSON.stringify({ args: ["/bin/busybox", "true"], cwd: "/" })),
    };
    await svc.exec(create(pb.ExecProcessRequestSchema, { id, execId: "never", spec }));
    const execWait = svc.wait(create(pb.WaitRequestSchema, { id, execId: "never" }));
    await svc.delete(create(pb.DeleteRequestSchema, { id, execId: "never" }));
    expect(await execWait).toMatchObject({ exitStatus: 137 });
    await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await svc.wait(create(pb.WaitRequestSchema, { id }));
    expect(await code(svc.exec(create(pb.ExecProcessRequestSchema, { id, execId: "late", spec })))).toBe(
      Code.FAILED_PRECONDITION,
    );
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
