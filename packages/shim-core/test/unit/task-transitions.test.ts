import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Status } from "../../src/gen/containerd/types/task_pb.ts";
import { Code } from "../../src/errors.ts";
import { UnitShim, code, settle } from "./harness.ts";
import type { Op } from "./fake-runtime.ts";

// State transitions as the handlers drive them, including requests that cross a runc call under way.
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
const pause = (id: string) => shim.svc.pause(create(pb.PauseRequestSchema, { id }));
const resume = (id: string) => shim.svc.resume(create(pb.ResumeRequestSchema, { id }));

/** Runs `first` with the runtime's `call` held, then `second`, which must wait for the release. */
async function waitsBehind(call: Op, first: () => Promise<unknown>, second: () => Promise<unknown>) {
  const release = shim.runtime.hold(call);
  const one = first();
  await settle();
  let done = false;
  const two = second().then(() => (done = true));
  await settle();
  expect(done).toBe(false);
  release();
  await one;
  await two;
}

describe("task state transitions (fake runtime)", () => {
  it("CREATED, RUNNING, PAUSED, RUNNING, STOPPED, then gone", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    expect(await shim.status(id)).toBe(Status.CREATED);
    await start(id);
    expect(await shim.status(id)).toBe(Status.RUNNING);
    await pause(id);
    expect(await shim.status(id)).toBe(Status.PAUSED);
    await resume(id);
    expect(await shim.status(id)).toBe(Status.RUNNING);
    await kill(id, 15);
    await wait(id);
    expect(await shim.status(id)).toBe(Status.STOPPED);
    await del(id);
    expect(await code(shim.status(id))).toBe(Code.NOT_FOUND);
  });

  it("reports PAUSING while runc freezes, refuses a second Pause, a Resume, an Exec or an Update meanwhile", async () => {
    const id = await shim.running();
    const release = shim.runtime.hold("pause");
    const pausing = pause(id);
    await settle();
    expect(await shim.status(id)).toBe(Status.PAUSING);
    expect(await code(pause(id))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(resume(id))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(shim.exec(id, "e1"))).toBe(Code.FAILED_PRECONDITION);
    const resources = {
      $typeName: "google.protobuf.Any" as const,
      typeUrl: "x",
      value: new TextEncoder().encode("{}"),
    };
    expect(await code(shim.svc.update(create(pb.UpdateTaskRequestSchema, { id, resources })))).toBe(
      Code.FAILED_PRECONDITION,
    );
    release();
    await pausing;
    expect(await shim.status(id)).toBe(Status.PAUSED);
    expect(shim.runtime.calls.filter((c) => c.startsWith("pause"))).toHaveLength(1);
    // containerd: "cannot exec in a paused state".
    expect(await code(shim.exec(id, "e2"))).toBe(Code.FAILED_PRECONDITION);
  });

  it("goes back to RUNNING when runc cannot pause, and stays PAUSED when it cannot resume", async () => {
    const id = await shim.running();
    shim.runtime.fail("pause", "freezer busy");
    await expect(pause(id)).rejects.toThrow("freezer busy");
    expect(await shim.status(id)).toBe(Status.RUNNING);
    shim.runtime.clear();
    await pause(id);
    shim.runtime.fail("resume");
    expect(await code(resume(id))).toBe(Code.UNKNOWN);
    expect(await shim.status(id)).toBe(Status.PAUSED);
    shim.runtime.clear();
    await resume(id);
    expect(await shim.status(id)).toBe(Status.RUNNING);
  });

  it("lets a Kill during Pause wait for the freeze, then signals the paused task", async () => {
    const id = await shim.running();
    await waitsBehind(
      "pause",
      () => pause(id),
      () => kill(id, 9),
    );
    expect(shim.runtime.calls.slice(-2)).toEqual([`pause ${id}`, `kill ${id} 9`]);
  });

  it("lets a Pause during a Kill wait until runc has delivered the signal", async () => {
    const id = await shim.running();
    await waitsBehind(
      "kill",
      () => kill(id, 9),
      () => pause(id),
    );
    expect(shim.runtime.calls.slice(-2)).toEqual([`kill ${id} 9`, `pause ${id}`]);
  });

  it("runs runc once for two Starts at the same time: the second is refused", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    const release = shim.runtime.hold("run");
    const first = start(id);
    await settle();
    expect(await shim.status(id)).toBe(Status.CREATED);
    expect(await code(start(id))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(del(id))).toBe(Code.FAILED_PRECONDITION);
    release();
    expect((await first).pid).toBeGreaterThan(0);
    expect(shim.runtime.calls).toEqual([`run ${id}`]);
  });

  it("lets a Kill during Start wait for it, then signals what it started", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    await waitsBehind(
      "run",
      () => start(id),
      () => kill(id, 9),
    );
    expect(await wait(id)).toMatchObject({ exitStatus: 137 });
    expect(shim.topics()).toEqual(["create", "start", "exit"]);
    expect(shim.runtime.calls).toEqual([`run ${id}`, `kill ${id} 9`, `delete ${id}`]);
  });

  it("keeps a task CREATED, to be started again, when its stdio cannot be opened at Start", async () => {
    const { id, req, bundle } = shim.request();
    const fifo = join(bundle, "out.fifo");
    execFileSync("mkfifo", [fifo]);
    await shim.svc.create({ ...req, stdout: fifo });
    rmSync(fifo);
    expect(await code(start(id))).toBe(Code.INVALID_ARGUMENT);
    expect(await shim.status(id)).toBe(Status.CREATED);
    expect(shim.runtime.calls).toEqual([]);
    await del(id);
  });

  it("keeps a STOPPED task when runc cannot delete it; the retry deletes it, with one TaskDelete", async () => {
    const id = await shim.running();
    shim.runtime.fail("delete", "device or resource busy");
    shim.runtime.exit(id, 0);
    await wait(id);
    await expect(del(id)).rejects.toThrow("device or resource busy");
    expect(await shim.status(id)).toBe(Status.STOPPED);
    shim.runtime.clear();
    const [a, b] = await Promise.all([code(del(id)), code(del(id))]);
    expect([a, b]).toEqual([Code.OK, Code.FAILED_PRECONDITION]);
    expect(shim.topics().filter((t) => t === "delete")).toHaveLength(1);
    expect(shim.svc.containers.size).toBe(0);
  });

  it("moves an exec through CREATED, RUNNING and STOPPED on its own; its Start needs a RUNNING task", async () => {
    const id = await shim.running();
    await shim.exec(id, "e1");
    expect(await shim.status(id, "e1")).toBe(Status.CREATED);
    await pause(id);
    expect(await code(start(id, "e1"))).toBe(Code.FAILED_PRECONDITION);
    await resume(id);
    await start(id, "e1");
    expect(await shim.status(id, "e1")).toBe(Status.RUNNING);
    await kill(id, 15, "e1");
    expect(await wait(id, "e1")).toMatchObject({ exitStatus: 143 });
    expect(await shim.status(id, "e1")).toBe(Status.STOPPED);
    expect(await shim.status(id)).toBe(Status.RUNNING);
    expect(await code(kill(id, 9, "e1"))).toBe(Code.NOT_FOUND);
    await del(id, "e1");
    expect(await code(shim.status(id, "e1"))).toBe(Code.NOT_FOUND);
  });

  it("SIGKILLs running execs and ends never-started ones when the task is forgotten", async () => {
    const id = await shim.running();
    await shim.exec(id, "run");
    await shim.exec(id, "idle");
    const { pid } = await start(id, "run");
    const idle = wait(id, "idle");
    await shim.svc.forget(id);
    expect(shim.runtime.calls).toContain(`signal ${pid} 9`);
    expect(await idle).toMatchObject({ exitStatus: 137 });
    expect(shim.svc.containers.size).toBe(0);
  });
});
