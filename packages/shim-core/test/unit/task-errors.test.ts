import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Status } from "../../src/gen/containerd/types/task_pb.ts";
import { Code } from "../../src/errors.ts";
import { CONTAINER_TYPE_ANNOTATION } from "../../src/oci/spec.ts";
import { bundleFiles, readShimState } from "../../src/task/bundle-files.ts";
import { UnitShim, appRoot, code } from "./harness.ts";

// The wire codes containerd (and CRI behind it) acts on, from each handler, on a fake runtime.
let shim: UnitShim;
beforeEach(() => {
  shim = new UnitShim();
});
afterEach(() => shim.close());

const state = (id: string, execId = "") => shim.svc.state(create(pb.StateRequestSchema, { id, execId }));
const start = (id: string, execId = "") => shim.svc.start(create(pb.StartRequestSchema, { id, execId }));
const kill = (id: string, signal = 9, execId = "") =>
  shim.svc.kill(create(pb.KillRequestSchema, { id, signal, execId }));
const del = (id: string, execId = "") => shim.svc.delete(create(pb.DeleteRequestSchema, { id, execId }));
const wait = (id: string, execId = "") => shim.svc.wait(create(pb.WaitRequestSchema, { id, execId }));
const json = (v: unknown) => ({
  $typeName: "google.protobuf.Any" as const,
  typeUrl: "x",
  value: new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v)),
});

describe("Task handler error codes (fake runtime)", () => {
  it("NOT_FOUND: an unknown container or exec, a signal to a finished task, a missing entrypoint", async () => {
    for (const call of [
      state("nope"),
      start("nope"),
      kill("nope"),
      del("nope"),
      wait("nope"),
      shim.svc.pids(create(pb.PidsRequestSchema, { id: "nope" })),
    ])
      expect(await code(call)).toBe(Code.NOT_FOUND);
    const id = await shim.running();
    expect(await code(state(id, "nope"))).toBe(Code.NOT_FOUND);
    await kill(id);
    await wait(id);
    expect(await code(kill(id))).toBe(Code.NOT_FOUND);
    expect(await code(shim.svc.stats(create(pb.StatsRequestSchema, { id })))).toBe(Code.NOT_FOUND);
    await del(id);
    expect(await code(del(id))).toBe(Code.NOT_FOUND);
    expect(await code(shim.svc.create(shim.request(["/bin/nothing"]).req))).toBe(Code.NOT_FOUND);
  });

  it("ALREADY_EXISTS: a second Create of an id, also while the first is under way, and a second Exec id", async () => {
    const { req } = shim.request();
    const [first, second] = await Promise.all([code(shim.svc.create(req)), code(shim.svc.create(req))]);
    expect([first, second]).toEqual([Code.OK, Code.ALREADY_EXISTS]);
    expect(await code(shim.svc.create(req))).toBe(Code.ALREADY_EXISTS);
    const id = await shim.running();
    await shim.exec(id, "e1");
    expect(await code(shim.exec(id, "e1"))).toBe(Code.ALREADY_EXISTS);
  });

  it("FAILED_PRECONDITION: requests the task's state does not allow", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    expect(await code(shim.svc.pause(create(pb.PauseRequestSchema, { id })))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(shim.svc.update(create(pb.UpdateTaskRequestSchema, { id, resources: json({}) })))).toBe(
      Code.FAILED_PRECONDITION,
    );
    await shim.exec(id, "early");
    // Nothing runs before Start (runc runs in the foreground): nothing to exec into yet.
    expect(await code(start(id, "early"))).toBe(Code.FAILED_PRECONDITION);
    await start(id);
    expect(await code(start(id))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(del(id))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(shim.svc.resume(create(pb.ResumeRequestSchema, { id })))).toBe(Code.FAILED_PRECONDITION);
    await shim.exec(id, "e1");
    await start(id, "e1");
    expect(await code(del(id, "e1"))).toBe(Code.FAILED_PRECONDITION);
    await kill(id);
    await wait(id);
    expect(await code(shim.exec(id, "late"))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(start(id))).toBe(Code.FAILED_PRECONDITION);
  });

  it("INVALID_ARGUMENT: a bad id, bundle or spec, a bad signal, exec spec or resources, a window size past 16 bits", async () => {
    const tty = shim.request();
    expect(await code(shim.svc.create({ ...tty.req, id: "../escape" }))).toBe(Code.INVALID_ARGUMENT);
    expect(await code(shim.svc.create({ ...tty.req, bundle: "relative/bundle" }))).toBe(Code.INVALID_ARGUMENT);
    const broken = shim.request();
    writeFileSync(join(broken.bundle, "config.json"), "{not json");
    expect(await code(shim.svc.create(broken.req))).toBe(Code.INVALID_ARGUMENT);
    const id = await shim.running();
    expect(await code(shim.svc.resizePty(create(pb.ResizePtyRequestSchema, { id, width: 70_000, height: 20 })))).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect(
      await code(shim.svc.resizePty(create(pb.ResizePtyRequestSchema, { id: "nope", width: 80, height: 20 }))),
    ).toBe(Code.NOT_FOUND);
    // No terminal, nothing to size: accepted, as containerd's runc shim does.
    expect(await code(shim.svc.resizePty(create(pb.ResizePtyRequestSchema, { id, width: 80, height: 20 })))).toBe(
      Code.OK,
    );
    expect(await code(kill(id, 0))).toBe(Code.INVALID_ARGUMENT);
    expect(await code(kill(id, 65))).toBe(Code.INVALID_ARGUMENT);
    expect(await code(shim.svc.exec(create(pb.ExecProcessRequestSchema, { id, execId: "nospec" })))).toBe(
      Code.INVALID_ARGUMENT,
    );
    expect(
      await code(shim.svc.exec(create(pb.ExecProcessRequestSchema, { id, execId: "bad", spec: json("{nope") }))),
    ).toBe(Code.INVALID_ARGUMENT);
    expect(
      await code(
        shim.svc.exec(
          create(pb.ExecProcessRequestSchema, { id, execId: "bad id", spec: json({ args: ["/bin/app"], cwd: "/" }) }),
        ),
      ),
    ).toBe(Code.INVALID_ARGUMENT);
    expect(await code(shim.svc.update(create(pb.UpdateTaskRequestSchema, { id, resources: json([1]) })))).toBe(
      Code.INVALID_ARGUMENT,
    );
    // Nothing of a refused Create stays.
    expect([...shim.svc.containers.keys()]).toEqual([id]);
  });

  it("INVALID_ARGUMENT: a native entrypoint in an image whose config says wasm; a sandbox is never asked about", async () => {
    const wasm = shim.request();
    shim.architectures.set(wasm.id, "wasm");
    await expect(shim.svc.create(wasm.req)).rejects.toThrow(
      /not a WebAssembly module, though the image's architecture is wasm/,
    );
    const sandbox = shim.request(
      ["/bin/app"],
      (spec) => (spec.annotations = { [CONTAINER_TYPE_ANNOTATION]: "sandbox" }),
    );
    shim.architectures.set(sandbox.id, "wasm");
    expect(await code(shim.svc.create(sandbox.req))).toBe(Code.OK);
  });

  it("UNIMPLEMENTED and UNAVAILABLE: checkpoints, and a Create after the last Shutdown", async () => {
    expect(await code(shim.svc.checkpoint())).toBe(Code.UNIMPLEMENTED);
    await shim.svc.shutdown(create(pb.ShutdownRequestSchema, {}));
    expect(shim.shutdowns).toBe(1);
    expect(await code(shim.svc.create(shim.request().req))).toBe(Code.UNAVAILABLE);
  });

  it("UNKNOWN with runc's message when the runtime fails; the task then is STOPPED, or stays as it was", async () => {
    const { id, req } = shim.request();
    await shim.svc.create(req);
    shim.runtime.fail("run", "exec format error");
    await expect(start(id)).rejects.toThrow("failed to start task: exec format error");
    expect((await state(id)).status).toBe(Status.STOPPED);
    shim.runtime.clear();
    const running = await shim.running();
    shim.runtime.fail("kill", "permission denied");
    expect(await code(kill(running))).toBe(Code.UNKNOWN);
    expect((await state(running)).status).toBe(Status.RUNNING);
  });

  it("mounts the rootfs through the mounter, and takes it off when Create fails or at Delete", async () => {
    const source = appRoot(mkdtempSync(join(shim.dir, "snapshot-")));
    const { rootfs } = create(pb.CreateTaskRequestSchema, {
      rootfs: [{ type: "bind", source, options: ["rbind", "ro"] }],
    });
    const ok = shim.request(["/bin/app"], (spec) => (spec.root = { path: "rootfs" }));
    await shim.svc.create({ ...ok.req, rootfs });
    expect([...shim.mounter.mounted]).toEqual([join(ok.bundle, "rootfs")]);
    expect(readShimState(ok.bundle)?.mountedRootfs).toBe(true);
    await del(ok.id);
    expect(shim.mounter.mounted.size).toBe(0);
    // The `delete` binary, which containerd runs after the daemon exits, then unmounts nothing.
    expect(existsSync(join(ok.bundle, bundleFiles.deleted))).toBe(true);
    const missing = shim.request(["/bin/other"], (spec) => (spec.root = { path: "rootfs" }));
    expect(await code(shim.svc.create({ ...missing.req, rootfs }))).toBe(Code.NOT_FOUND);
    expect(shim.mounter.calls).toEqual(["mount bind", "unmount", "mount bind", "unmount"]);
    expect(shim.mounter.mounted.size).toBe(0);
  });
});
