import { closeSync, constants, openSync, writeSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { collect, fifo } from "./fifos.ts";
import { RuncService } from "./runc-service.ts";

const shim = new RuncService();
const { svc } = shim;
afterAll(() => shim.close());

// containerd's CRI with stdin_once writes what the client attached with into the FIFO, closes its
// end and sends CloseIO at once. The daemon reads the FIFO only when its event loop gets to it, so
// under load CloseIO came first and the process saw end of file and nothing else (the corpus's
// stdin case through CRI, once in a loaded CI run). Here the test runs in the daemon's own event
// loop: CloseIO always comes before the daemon has read a byte.
describe("CloseIO of a piped stdin", () => {
  it("gives the process everything the client wrote before it, then end of file", async () => {
    const { id, req, bundle } = shim.request(["/bin/busybox", "wc", "-c"]);
    const stdin = fifo(bundle, "in");
    const out = fifo(bundle, "out");
    const reader = collect(out);
    await svc.create({ ...req, stdin, stdout: out, stderr: "" });
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.start(create(pb.StartRequestSchema, { id }));
    const client = openSync(stdin, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(client, Buffer.alloc(10_000, 0x61));
    closeSync(client);
    await svc.closeIO(create(pb.CloseIORequestSchema, { id, stdin: true }));
    expect((await waiting).exitStatus).toBe(0);
    await reader.ended;
    expect(reader.text().trim()).toBe("10000");
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
