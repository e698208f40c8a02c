import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { UnitShim, code } from "./harness.ts";

// The order of Task events is what containerd's clients build on: CRI's exit handling, ctr's wait.
let shim: UnitShim;
beforeEach(() => {
  shim = new UnitShim();
});
afterEach(() => shim.close());

const start = (id: string, execId = "") => shim.svc.start(create(pb.StartRequestSchema, { id, execId }));
const kill = (id: string, signal = 9, execId = "") =>
  shim.svc.kill(create(pb.KillRequestSchema, { id, signal, execId }));
const del = (id: string, execId = "") => shim.svc.delete(create(pb.DeleteRequestSchema, { id, execId }));
const wait = (id: string, execId = "") => shim.svc.wait(create(pb.WaitRequestSchema, { id, execId }));

describe("Task events (fake runtime)", () => {
  it("create, start, exit, delete, with the exit status the process ended with", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    const { pid } = await start(id);
    expect(shim.runtime.live(id)).toEqual([pid]);
    shim.runtime.exit(id, 3);
    expect(await wait(id)).toMatchObject({ exitStatus: 3 });
    expect(await del(id)).toMatchObject({ pid, exitStatus: 3 });
    expect(shim.topics()).toEqual(["create", "start", "exit", "delete"]);
    expect(shim.exits()).toEqual([`${id}=3`]);
    // runc's stopped container went once the init exited; Delete found nothing left to remove.
    expect(shim.runtime.calls).toEqual([`run ${id}`, `delete ${id}`]);
  });

  it("an exec's own events, between the init's start and exit; deleting an exec publishes nothing", async () => {
    const id = await shim.running();
    await shim.exec(id, "e1");
    await start(id, "e1");
    shim.runtime.exit(id, 5, "e1");
    expect(await wait(id, "e1")).toMatchObject({ exitStatus: 5 });
    await del(id, "e1");
    await shim.exec(id, "e2");
    await start(id, "e2");
    await kill(id);
    await wait(id);
    expect(await wait(id, "e2")).toMatchObject({ exitStatus: 137 });
    await del(id);
    expect(shim.topics()).toEqual([
      "create",
      "start",
      "exec-added",
      "exec-started",
      "exit",
      "exec-added",
      "exec-started",
      "exit",
      "exit",
      "delete",
    ]);
    // e2 and the init end together (the PID namespace goes); which exit comes first is a race.
    expect(shim.exits().sort()).toEqual([`${id}=137`, "e1=5", "e2=137"]);
  });

  it("a task killed before Start exits with 128+signal and never starts; an exec never started ends with it", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    await shim.exec(id, "never");
    await kill(id, 15);
    expect(await wait(id)).toMatchObject({ exitStatus: 143 });
    expect(await wait(id, "never")).toMatchObject({ exitStatus: 137 });
    await del(id);
    expect(shim.topics()).toEqual(["create", "exec-added", "exit", "delete"]);
    expect(shim.runtime.calls).toEqual([`delete ${id}`]);
  });

  it("paused and resumed, and nothing for a pause runc refused", async () => {
    const id = await shim.running();
    shim.runtime.fail("pause");
    expect(await code(shim.svc.pause(create(pb.PauseRequestSchema, { id })))).not.toBe(0);
    shim.runtime.clear();
    await shim.svc.pause(create(pb.PauseRequestSchema, { id }));
    await shim.svc.resume(create(pb.ResumeRequestSchema, { id }));
    expect(shim.topics()).toEqual(["create", "start", "paused", "resumed"]);
  });

  it("nothing for a Create that failed, nor a start or exit for a Start that runc failed", async () => {
    const wasm = shim.request();
    shim.architectures.set(wasm.id, "wasm");
    await expect(shim.svc.create(wasm.req)).rejects.toThrow();
    const { id, req } = shim.request();
    await shim.svc.create(req);
    shim.runtime.fail("run");
    await expect(start(id)).rejects.toThrow(/failed to start task/);
    // A Start that runc failed ends the task: Wait returns, and the exit is its status.
    expect(await wait(id)).toMatchObject({ exitStatus: 1 });
    await del(id);
    expect(shim.topics()).toEqual(["create", "delete"]);
  });
});
