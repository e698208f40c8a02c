import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Code, type ShimError } from "../../src/errors.ts";
import { bundleFiles } from "../../src/task/bundle-files.ts";
import { RuncService } from "./runc-service.ts";

// containerd 2.4 sends Shutdown after every Delete, also to a pod's shared shim, so the next
// Create of a pod can meet a Shutdown. These are the two orders in which they can cross.
let rs: RuncService;
const all: RuncService[] = [];
beforeEach(() => {
  rs = new RuncService();
  all.push(rs);
});
afterAll(async () => {
  for (const s of all) await s.close();
});

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return { code: (err as ShimError).code, message: (err as Error).message };
  }
  return { code: Code.OK, message: "" };
};

describe("Shutdown and Create crossing", () => {
  it("keeps the daemon for a Create still under way when the Shutdown arrives", async () => {
    const { id, req } = rs.request(["/bin/busybox", "true"]);
    const creating = rs.svc.create(req);
    await rs.svc.shutdown(create(pb.ShutdownRequestSchema, { id: "an-earlier-task" }));
    expect(rs.onShutdown).not.toHaveBeenCalled();
    await creating;
    expect(rs.svc.containers.has(id)).toBe(true);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
    await rs.svc.shutdown(create(pb.ShutdownRequestSchema, { id }));
    expect(rs.onShutdown).toHaveBeenCalledOnce();
  });

  it("refuses a Create after the last Shutdown with UNAVAILABLE, and creates nothing", async () => {
    await rs.svc.shutdown(create(pb.ShutdownRequestSchema, { id: "last" }));
    await rs.svc.shutdown(create(pb.ShutdownRequestSchema, { id: "last" }));
    expect(rs.onShutdown).toHaveBeenCalledOnce();
    const { id, req, bundle } = rs.request(["/bin/busybox", "true"]);
    expect(await failure(rs.svc.create(req))).toEqual({
      code: Code.UNAVAILABLE,
      message: `the shim is shutting down (it had no task left): create ${id} through a new shim: unavailable`,
    });
    expect(rs.svc.containers.size).toBe(0);
    expect(existsSync(join(bundle, bundleFiles.state))).toBe(false);
    expect(existsSync(join(rs.runcRoot, id))).toBe(false);
    expect(rs.topics()).toEqual([]);
    expect((await failure(rs.svc.state(create(pb.StateRequestSchema, { id })))).code).toBe(Code.NOT_FOUND);
  });

  it("answers a second Create of an id still being created with ALREADY_EXISTS", async () => {
    const { id, req } = rs.request(["/bin/busybox", "true"]);
    const [first, second] = await Promise.allSettled([rs.svc.create(req), rs.svc.create(req)]);
    expect(first.status).toBe("fulfilled");
    expect(second.status === "rejected" && (second.reason as ShimError).code).toBe(Code.ALREADY_EXISTS);
    await rs.svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
