import { closeSync, constants, openSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { collect, fifo } from "./fifos.ts";
import { RuncService } from "./runc-service.ts";

const shim = new RuncService();
const { svc } = shim;
afterAll(() => shim.close());

// `ctr run -d` opens the output FIFOs, waits for Start, and exits: from then on nobody reads them.
// containerd's runc shim keeps a reader of its own on each, so the container's later writes do
// not fail; the daemon holds one too, for as long as the process runs.
describe("output FIFOs after the client has gone", () => {
  it("take the process's writes instead of failing them with EPIPE", async () => {
    const { id, req, bundle } = shim.request(["/bin/busybox", "sh", "-c", "sleep 1; echo late; echo later >&2"]);
    const out = fifo(bundle, "out");
    const err = fifo(bundle, "err");
    // The client's readers, which it closes without reading (a stream's close would wait for its read).
    const client = [out, err].map((path) => openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
    await svc.create({ ...req, stdout: out, stderr: err });
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.start(create(pb.StartRequestSchema, { id }));
    // The client exits before the process writes anything.
    for (const fd of client) closeSync(fd);
    // Without a reader, each echo failed with EPIPE (SIGPIPE is ignored, as Node leaves it), and the
    // shell ended with the last one's status, 1.
    expect((await waiting).exitStatus).toBe(0);
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });

  it("still end at the client when the process does", async () => {
    const { id, req, bundle } = shim.request(["/bin/busybox", "echo", "bye"]);
    const out = fifo(bundle, "out");
    const reader = collect(out);
    await svc.create({ ...req, stdout: out, stderr: "" });
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.start(create(pb.StartRequestSchema, { id }));
    expect((await waiting).exitStatus).toBe(0);
    await reader.ended;
    expect(reader.text()).toBe("bye\n");
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
