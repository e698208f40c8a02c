/** Many requests per connection, many connections, and peers that vanish mid-call. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TtrpcClient } from "../../src/ttrpc/client.ts";
import type { CallContext } from "../../src/ttrpc/server.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { RawPeer, decodeResponse, delay, removeTempDirs, requestFrame, tempSocketPath } from "./helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

let server: TtrpcServer;
let sock: string;
let release: () => void;
let gate: Promise<void>;
let slowContexts: CallContext[];

beforeEach(async () => {
  gate = new Promise((resolve) => (release = resolve));
  slowContexts = [];
  server = new TtrpcServer();
  server.register("test.Svc", "Wait", async (payload, ctx) => {
    slowContexts.push(ctx);
    await gate;
    return payload;
  });
  server.register("test.Svc", "Echo", async (payload) => payload);
  server.register("test.Svc", "Jitter", async (payload) => {
    await delay(payload[0]! % 20);
    return payload;
  });
  sock = tempSocketPath();
  await server.listen(sock);
});

afterEach(async () => {
  release();
  await server.close();
  removeTempDirs();
});

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(5);
  }
}

describe("TtrpcServer concurrency", () => {
  it("a blocked call does not hold back later calls on the same connection; replies arrive out of order", async () => {
    const peer = await RawPeer.connect(sock);
    peer.send(requestFrame(1, { service: "test.Svc", method: "Wait", payload: text("wait") }));
    peer.send(requestFrame(3, { service: "test.Svc", method: "Echo", payload: text("start") }));
    peer.send(requestFrame(5, { service: "test.Svc", method: "Echo", payload: text("state") }));
    const first = await peer.waitFrames(2);
    expect(first.map((f) => [f.streamId, untext(decodeResponse(f).payload)])).toEqual([
      [3, "start"],
      [5, "state"],
    ]);
    release();
    const all = await peer.waitFrames(3);
    expect([all[2]!.streamId, untext(decodeResponse(all[2]!).payload)]).toEqual([1, "wait"]);
    peer.close();
  });

  it("matches many concurrent calls with random latency to their stream ids", async () => {
    const client = await TtrpcClient.connect(sock);
    const payloads = Array.from({ length: 200 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, 7));
    const replies = await Promise.all(payloads.map((p) => client.call("test.Svc", "Jitter", p)));
    expect(replies).toEqual(payloads);
    client.close();
  });

  it("aborts the context when the client disconnects mid-request and keeps serving", async () => {
    const peer = await RawPeer.connect(sock);
    peer.send(requestFrame(1, { service: "test.Svc", method: "Wait", payload: text("x") }));
    await until(() => slowContexts.length === 1);
    const ctx = slowContexts[0]!;
    expect(ctx.signal.aborted).toBe(false);
    peer.close();
    await until(() => ctx.signal.aborted);
    await until(() => server.connections() === 0);
    release(); // the handler finishes into a closed connection: dropped silently
    await delay(20);
    const client = await TtrpcClient.connect(sock);
    expect(untext(await client.call("test.Svc", "Echo", text("after")))).toBe("after");
    client.close();
  });

  it("passes metadata (keys lowercased) and timeout_nano to the handler", async () => {
    const client = await TtrpcClient.connect(sock);
    const call = client.call("test.Svc", "Wait", text("m"), {
      timeoutMs: 2500,
      metadata: { "Containerd-Namespace-TTRPC": "k8s.io", traceparent: "00-ab" },
    });
    await until(() => slowContexts.length === 1);
    const ctx = slowContexts[0]!;
    expect(ctx.service).toBe("test.Svc");
    expect(ctx.method).toBe("Wait");
    expect(ctx.timeoutNano).toBe(2_500_000_000n);
    expect(Object.fromEntries(ctx.metadata)).toEqual({ "containerd-namespace-ttrpc": "k8s.io", traceparent: "00-ab" });
    release();
    await call;
    client.close();
  });

  it("serves many connections at once and counts them", async () => {
    const clients = await Promise.all(Array.from({ length: 64 }, () => TtrpcClient.connect(sock)));
    await until(() => server.connections() === 64);
    const results = await Promise.all(
      clients.flatMap((c, i) => Array.from({ length: 5 }, (_, j) => c.call("test.Svc", "Echo", text(`${i}.${j}`)))),
    );
    expect(results.map(untext)).toEqual(clients.flatMap((_, i) => Array.from({ length: 5 }, (_, j) => `${i}.${j}`)));
    for (const c of clients) c.close();
    await until(() => server.connections() === 0);
  });

  it("close() ends connections: pending calls fail with ttrpc: closed", async () => {
    const client = await TtrpcClient.connect(sock);
    const outcome = client.call("test.Svc", "Wait", text("never")).catch((err: unknown) => err);
    await until(() => slowContexts.length === 1);
    await server.close();
    expect(await outcome).toMatchObject({ message: expect.stringContaining("ttrpc: closed") });
    expect(slowContexts[0]!.signal.aborted).toBe(true);
    expect(server.connections()).toBe(0);
  });
});
