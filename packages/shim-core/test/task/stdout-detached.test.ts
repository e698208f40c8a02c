import { closeSync, constants, openSync, readSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
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
// not fail; the daemon holds one too, for as long as the process runs. And a client that reads
// slowly makes the process wait, not fail: the daemon opens the FIFO non-blocking, and the
// process's writes wait only because libuv clears O_NONBLOCK on the stdio fds it hands a child
// (the file description is shared, so a launch that kept the flag would break this).
describe("output FIFOs with a client that has gone or reads slowly", () => {
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

  it("make a process wait for a slow reader instead of failing its writes with EAGAIN", async () => {
    const size = 1_000_000;
    const { id, req, bundle } = shim.request(["/bin/busybox", "head", "-c", String(size), "/dev/zero"]);
    const out = fifo(bundle, "out");
    const client = openSync(out, constants.O_RDONLY | constants.O_NONBLOCK);
    await svc.create({ ...req, stdout: out, stderr: "" });
    const waiting = svc.wait(create(pb.WaitRequestSchema, { id }));
    await svc.start(create(pb.StartRequestSchema, { id }));
    // The FIFO (64 kB) fills long before the client reads.
    await sleep(1000);
    let got = 0;
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      let n: number;
      try {
        n = readSync(client, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
        await sleep(5);
        continue;
      }
      if (n === 0) break;
      got += n;
    }
    closeSync(client);
    expect((await waiting).exitStatus).toBe(0);
    expect(got).toBe(size);
    await svc.delete(create(pb.DeleteRequestSchema, { id }));
  });
});
