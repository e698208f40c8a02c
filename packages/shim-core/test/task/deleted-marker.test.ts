import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { RuncService } from "./runc-service.ts";

// What a Delete leaves for the `delete` containerd runs after the daemon (native/entry/fast_delete.c
// reads it before Node boots): only once runc has no container and the rootfs is off.
const rs = new RuncService();
afterAll(() => rs.close());

describe("shim-deleted", () => {
  it("names the init's pid, runc's state directory and the daemon's socket once Delete is done", async () => {
    const { id, req, bundle } = rs.request(["/bin/busybox", "sleep", "100"]);
    await rs.svc.create(req);
    const { pid } = await rs.svc.start(create(pb.StartRequestSchema, { id }));
    const runcState = join(rs.runcRoot, id);
    expect(existsSync(runcState)).toBe(true);
    await rs.svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await rs.svc.wait(create(pb.WaitRequestSchema, { id }));
    expect(existsSync(join(bundle, "shim-deleted"))).toBe(false);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
    expect(readFileSync(join(bundle, "shim-deleted"), "utf8")).toBe(
      `v1\n${pid}\n${runcState}\n/run/containerd/s/runc-service-test\n`,
    );
    expect(existsSync(runcState)).toBe(false);
  });

  it("is not left by a Delete that is refused", async () => {
    const { id, req, bundle } = rs.request(["/bin/busybox", "sleep", "100"]);
    await rs.svc.create(req);
    await rs.svc.start(create(pb.StartRequestSchema, { id }));
    // Still running: Delete is refused before anything is removed.
    await expect(rs.svc.delete(create(pb.DeleteRequestSchema, { id }))).rejects.toThrow();
    expect(existsSync(join(bundle, "shim-deleted"))).toBe(false);
    await rs.svc.kill(create(pb.KillRequestSchema, { id, signal: 9 }));
    await rs.svc.wait(create(pb.WaitRequestSchema, { id }));
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
    expect(existsSync(join(bundle, "shim-deleted"))).toBe(true);
  });
});
