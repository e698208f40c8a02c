/**
 * Hostile and broken requests to the Task handlers after Create, with real runc: Exec, Kill and
 * Update refuse with a clear INVALID_ARGUMENT what would otherwise crash or escape, and a Start
 * that must wait for a FIFO's reader holds up nothing else. Nothing stays behind.
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, existsSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import type { TaskService } from "../../src/task/service.ts";
import { HostileService, refused } from "./hostile-service.ts";

const hs = new HostileService();
const request = hs.request;
let svc: TaskService;
// Nothing of a refused request may stay: no container in the shim or in runc, no mount.
hs.hooks((s) => (svc = s));

describe("the other handlers refuse what would otherwise crash or escape", () => {
  async function running() {
    const r = request(["/bin/busybox", "sleep", "100"]);
    await svc.create(r.req);
    await svc.start(create(pb.StartRequestSchema, { id: r.id }));
    return r;
  }
  const execSpec = (bytes: Uint8Array) => ({
    $typeName: "google.protobuf.Any" as const,
    typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
    value: bytes,
  });
  const good = new TextEncoder().encode(JSON.stringify({ args: ["/bin/busybox", "true"], cwd: "/" }));

  it("Exec: an exec id that would name a file outside the bundle, and a spec that is not a process", async () => {
    const { id, bundle } = await running();
    try {
      await refused(
        svc.exec(create(pb.ExecProcessRequestSchema, { id, execId: "../../escape", spec: execSpec(good) })),
        /exec id "..\/..\/escape" must be letters and digits/,
      );
      expect(existsSync(join(dirname(dirname(bundle)), "escape.json"))).toBe(false);
      await refused(
        svc.exec(
          create(pb.ExecProcessRequestSchema, {
            id,
            execId: "e1",
            spec: execSpec(new TextEncoder().encode("{not json")),
          }),
        ),
        /exec e1: process spec is not valid JSON/,
      );
      await refused(
        svc.exec(
          create(pb.ExecProcessRequestSchema, { id, execId: "e2", spec: execSpec(new TextEncoder().encode("null")) }),
        ),
        /exec e2: process must be an object, not null/,
      );
      await refused(
        svc.exec(
          create(pb.ExecProcessRequestSchema, {
            id,
            execId: "e3",
            spec: execSpec(new TextEncoder().encode('{"args":[],"cwd":"/"}')),
          }),
        ),
        /exec e3: process.args is empty/,
      );
    } finally {
      await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
      await svc.wait(create(pb.WaitRequestSchema, { id }));
      await svc.delete(create(pb.DeleteRequestSchema, { id }));
    }
  });

  it("Kill: signals Linux does not have; Update: resources that are not an object", async () => {
    const { id } = await running();
    try {
      for (const signal of [0, 65, 0xffffffff])
        await refused(svc.kill(create(pb.KillRequestSchema, { id, signal })), /signal \d+ is not a Linux signal/);
      const resources = (text: string) => ({
        $typeName: "google.protobuf.Any" as const,
        typeUrl: "x",
        value: new TextEncoder().encode(text),
      });
      await refused(
        svc.update(create(pb.UpdateTaskRequestSchema, { id, resources: resources("[1]") })),
        /resources must be a JSON object/,
      );
      await refused(
        svc.update(create(pb.UpdateTaskRequestSchema, { id, resources: resources("{") })),
        /resources is not valid JSON/,
      );
    } finally {
      await svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
      await svc.wait(create(pb.WaitRequestSchema, { id }));
      await svc.delete(create(pb.DeleteRequestSchema, { id }));
    }
  });

  it("Start with an output FIFO nobody reads waits without stopping the daemon's file operations", async () => {
    const stuck = Array.from({ length: 6 }, () => request());
    for (const s of stuck) {
      execFileSync("mkfifo", [join(s.bundle, "out.fifo")]);
      await svc.create({ ...s.req, stdout: join(s.bundle, "out.fifo") });
    }
    // More Starts than libuv has threads: a blocking open in each would stop every fs call below.
    const starts = stuck.map((s) => svc.start(create(pb.StartRequestSchema, { id: s.id })));
    const other = request(["/bin/busybox", "echo", "still here"]);
    await svc.create(other.req);
    await svc.start(create(pb.StartRequestSchema, { id: other.id }));
    await svc.wait(create(pb.WaitRequestSchema, { id: other.id }));
    expect(readFileSync(other.out, "utf8")).toBe("still here\n");
    await svc.delete(create(pb.DeleteRequestSchema, { id: other.id }));
    // A reader comes: each Start goes ahead.
    const readers = stuck.map((s) => openSync(join(s.bundle, "out.fifo"), constants.O_RDONLY | constants.O_NONBLOCK));
    await Promise.all(starts);
    for (const s of stuck) {
      await svc.wait(create(pb.WaitRequestSchema, { id: s.id }));
      await svc.delete(create(pb.DeleteRequestSchema, { id: s.id }));
    }
    readers.forEach((fd) => closeSync(fd));
  });
});
