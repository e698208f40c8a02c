/** TtrpcClient against a hand-driven server that records frames and answers as told. */
import net from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, ShimError } from "../../src/errors.ts";
import { RequestSchema, ResponseSchema } from "../../src/gen/ttrpc/ttrpc_pb.ts";
import type { Request } from "../../src/gen/ttrpc/ttrpc_pb.ts";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import { FrameDecoder, MessageType, encodeFrame } from "../../src/ttrpc/frame.ts";
import { delay, removeTempDirs, tempSocketPath } from "./helpers.ts";

interface Received {
  streamId: number;
  req: Request;
  socket: net.Socket;
}

let sock: string;
let server: net.Server;
let received: Received[];

beforeEach(async () => {
  received = [];
  sock = tempSocketPath();
  server = net.createServer((socket) => {
    const decoder = new FrameDecoder();
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if ("payload" in f) received.push({ streamId: f.streamId, req: fromBinary(RequestSchema, f.payload), socket });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  removeTempDirs();
});

function respond(r: Received, init: MessageInitShape<typeof ResponseSchema>, streamId = r.streamId): void {
  const payload = toBinary(ResponseSchema, create(ResponseSchema, init));
  r.socket.write(encodeFrame({ streamId, type: MessageType.Response, flags: 0, payload }));
}

async function waitReceived(n: number): Promise<Received[]> {
  for (let i = 0; i < 500 && received.length < n; i++) await delay(10);
  expect(received.length).toBeGreaterThanOrEqual(n);
  return received;
}

describe("TtrpcClient", () => {
  it("uses odd, strictly increasing stream ids and sends metadata and timeout_nano", async () => {
    const client = await TtrpcClient.connect(sock);
    const calls = [0, 1, 2, 3].map((i) =>
      client.call(
        "svc",
        `M${i}`,
        Uint8Array.of(i),
        i === 2 ? { timeoutMs: 5000, metadata: { "containerd-namespace-ttrpc": "default" } } : {},
      ),
    );
    const got = await waitReceived(4);
    expect(got.map((r) => r.streamId)).toEqual([1, 3, 5, 7]);
    expect(got[0]!.req).toMatchObject({
      service: "svc",
      method: "M0",
      payload: Uint8Array.of(0),
      timeoutNano: 0n,
      metadata: [],
    });
    expect(got[2]!.req.timeoutNano).toBe(5_000_000_000n);
    expect(got[2]!.req.metadata.map((kv) => [kv.key, kv.value])).toEqual([["containerd-namespace-ttrpc", "default"]]);
    for (const r of [...got].reverse()) respond(r, { payload: Uint8Array.of(r.streamId) });
    expect(await Promise.all(calls)).toEqual([1, 3, 5, 7].map((id) => Uint8Array.of(id)));
    client.close();
  });

  it("rejects with the remote code; a status with code 0 is success", async () => {
    const client = await TtrpcClient.connect(`unix://${sock}`);
    const failing = client.call("svc", "Kill", new Uint8Array(0));
    const ok = client.call("svc", "State", new Uint8Array(0));
    const [kill, state] = await waitReceived(2);
    respond(kill!, { status: { code: Code.NOT_FOUND, message: "process already finished: not found" } });
    respond(state!, { status: { code: 0, message: "" }, payload: Uint8Array.of(42) });
    const err = await failing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShimError);
    expect(err).toMatchObject({ code: Code.NOT_FOUND, message: "process already finished: not found" });
    expect(await ok).toEqual(Uint8Array.of(42));
    client.close();
  });

  it("rejects every pending call when the connection closes, and later calls too", async () => {
    const client = await TtrpcClient.connect(sock);
    const pending = [client.call("svc", "A", new Uint8Array(0)), client.call("svc", "B", new Uint8Array(0))];
    const [first] = await waitReceived(2);
    first!.socket.destroy();
    const settled = await Promise.allSettled(pending);
    for (const s of settled)
      expect(s).toMatchObject({ status: "rejected", reason: { message: expect.stringContaining("ttrpc: closed") } });
    expect(client.closed).toBe(true);
    await expect(client.call("svc", "C", new Uint8Array(0))).rejects.toThrow(/ttrpc: closed/);
  });

  it("times out locally, ignores the late reply, and keeps the connection usable", async () => {
    const client = await TtrpcClient.connect(sock);
    const slow = client.call("svc", "Slow", new Uint8Array(0), { timeoutMs: 30 });
    await expect(slow).rejects.toMatchObject({ code: Code.DEADLINE_EXCEEDED });
    const [late] = await waitReceived(1);
    respond(late!, { payload: Uint8Array.of(1) });
    const next = client.call("svc", "Next", new Uint8Array(0));
    const [, r] = await waitReceived(2);
    expect(r!.streamId).toBe(3);
    respond(r!, { payload: Uint8Array.of(2) });
    expect(await next).toEqual(Uint8Array.of(2));
    client.close();
  });

  it("ignores responses for unknown stream ids and non-response frames", async () => {
    const client = await TtrpcClient.connect(sock);
    const call = client.call("svc", "X", new Uint8Array(0));
    const [r] = await waitReceived(1);
    respond(r!, { payload: Uint8Array.of(9) }, 99);
    r!.socket.write(encodeFrame({ streamId: 1, type: MessageType.Data, flags: 0, payload: Uint8Array.of(1) }));
    respond(r!, { payload: Uint8Array.of(1) });
    expect(await call).toEqual(Uint8Array.of(1));
    client.close();
  });

  it("fails to connect to a missing socket", async () => {
    await expect(TtrpcClient.connect(`${sock}.missing`)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
