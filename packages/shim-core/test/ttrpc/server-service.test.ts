/** Typed registration from a protobuf-es service descriptor, and serving an inherited fd. */
import { spawn } from "node:child_process";
import { renameSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { Code, invalidArgument } from "../../src/errors.ts";
import { ForwardRequestSchema } from "../../src/gen/containerd/events/forward_pb.ts";
import { Events } from "../../src/gen/wire/containerd/events/forward.ts";
import type { ForwardRequest } from "../../src/gen/containerd/events/forward_pb.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { removeTempDirs, tempSocketPath } from "./helpers.ts";

afterEach(() => removeTempDirs());

const forward = (topic: string) =>
  toBinary(
    ForwardRequestSchema,
    create(ForwardRequestSchema, {
      envelope: { topic, namespace: "default", timestamp: timestampFromDate(new Date()) },
    }),
  );

describe("registerService", () => {
  it("decodes requests, encodes results, and serves the same impl under two names", async () => {
    const seen: ForwardRequest[] = [];
    const server = new TtrpcServer();
    const impl = {
      async forward(req: ForwardRequest) {
        if (req.envelope?.topic === "bad") throw invalidArgument("topic");
        seen.push(req);
        return {};
      },
    };
    server.registerService("containerd.services.events.ttrpc.v1.Events", Events, impl);
    server.registerService("other.Events", Events, impl);
    const sock = tempSocketPath();
    await server.listen(sock);
    const client = await TtrpcClient.connect(sock);
    const out = await client.call("containerd.services.events.ttrpc.v1.Events", "Forward", forward("/tasks/start"));
    expect(fromBinary(EmptySchema, out)).toBeDefined();
    await client.call("other.Events", "Forward", forward("/tasks/exit"));
    expect(seen.map((r) => r.envelope?.topic)).toEqual(["/tasks/start", "/tasks/exit"]);
    await expect(client.call("other.Events", "Forward", forward("bad"))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
    await expect(client.call("other.Events", "Forward", Uint8Array.of(0x0a, 0x05))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
    client.close();
    await server.close();
  });

  it("refuses a request whose strings are not UTF-8 before the handler sees it", async () => {
    let called = false;
    const server = new TtrpcServer();
    server.registerService("containerd.services.events.ttrpc.v1.Events", Events, {
      async forward() {
        called = true;
        return {};
      },
    });
    const sock = tempSocketPath();
    await server.listen(sock);
    const client = await TtrpcClient.connect(sock);
    // envelope (1) { namespace (2): 0xff 0xfe }
    const call = client.call(
      "containerd.services.events.ttrpc.v1.Events",
      "Forward",
      Uint8Array.of(0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe),
    );
    await expect(call).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(/decode containerd.services.events.ttrpc.v1.ForwardRequest: .*UTF-8/i),
    });
    expect(called).toBe(false);
    client.close();
    await server.close();
  });

  it("answers methods missing from impl with UNIMPLEMENTED method <name>", async () => {
    const server = new TtrpcServer();
    server.registerService("containerd.services.events.ttrpc.v1.Events", Events, {});
    const sock = tempSocketPath();
    await server.listen(sock);
    const client = await TtrpcClient.connect(sock);
    const call = client.call("containerd.services.events.ttrpc.v1.Events", "Forward", forward("/x"));
    await expect(call).rejects.toMatchObject({
      code: Code.UNIMPLEMENTED,
      message: expect.stringMatching(/^method Forward/),
    });
    client.close();
    await server.close();
  });
});

describe("listenFd", () => {
  it("serves a listening socket inherited as fd 3 by a child process", async () => {
    const sock = tempSocketPath();
    const moved = tempSocketPath("moved.sock");
    const parent = net.createServer();
    await new Promise<void>((resolve) => parent.listen(sock, resolve));
    const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd;
    const fixture = fileURLToPath(new URL("./fixtures/fd-server.ts", import.meta.url));
    const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "inherit", fd] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`child exited ${code}`)));
      });
      // Node unlinks a bound path when its server closes; move the socket so the child's copy stays reachable.
      renameSync(sock, moved);
      await new Promise<void>((resolve) => parent.close(() => resolve()));
      const client = await TtrpcClient.connect(`unix://${moved}`);
      const pid = new TextDecoder().decode(await client.call("test.Fd", "Pid", new Uint8Array(0)));
      expect(Number(pid)).toBe(child.pid);
      client.close();
    } finally {
      child.kill("SIGKILL");
      parent.close();
    }
  });
});
