/** Byte-level server behaviour, driven by a raw peer that has no ttrpc logic of its own. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code, ShimError, notFound } from "../../src/errors.ts";
import { MAX_MESSAGE_LENGTH, MessageType, encodeFrame } from "../../src/ttrpc/frame.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { RawPeer, decodeResponse, hex, removeTempDirs, requestFrame, tempSocketPath } from "./helpers.ts";

let server: TtrpcServer;
let sock: string;
let peer: RawPeer;

beforeEach(async () => {
  server = new TtrpcServer();
  server.register("test.Svc", "Empty", async () => new Uint8Array(0));
  server.register("test.Svc", "Echo", async (payload) => payload);
  server.register("test.Svc", "Kill", async () => {
    throw notFound("process already finished");
  });
  server.register("test.Svc", "Sync", () => {
    throw new Error("boom");
  });
  server.register("test.Svc", "Huge", async () => new Uint8Array(MAX_MESSAGE_LENGTH + 1));
  sock = tempSocketPath();
  await server.listen(sock);
  peer = await RawPeer.connect(sock);
});

afterEach(async () => {
  peer.close();
  await server.close();
  removeTempDirs();
});

const echo = (id: number, text: string) =>
  requestFrame(id, { service: "test.Svc", method: "Echo", payload: new TextEncoder().encode(text) });

async function expectEcho(id: number, text: string, index: number) {
  peer.send(echo(id, text));
  const f = (await peer.waitFrames(index + 1))[index]!;
  expect(f.streamId).toBe(id);
  expect(new TextDecoder().decode(decodeResponse(f).payload)).toBe(text);
}

describe("TtrpcServer on the wire", () => {
  it("answers an Empty result with the bare 10-byte header (golden bytes)", async () => {
    peer.send(requestFrame(17, { service: "test.Svc", method: "Empty" }));
    await peer.waitFrames(1);
    expect(hex(Buffer.concat(peer.raw))).toBe("00 00 00 00 00 00 00 11 02 00");
  });

  it("maps a rejected handler to status only, with no payload (golden bytes)", async () => {
    peer.send(requestFrame(3, { service: "test.Svc", method: "Kill" }));
    const [f] = await peer.waitFrames(1);
    const msg = Buffer.from("process already finished: not found")
      .toString("hex")
      .replace(/(..)(?!$)/g, "$1 ");
    expect(hex(f!.payload)).toBe(`0a 27 08 05 12 23 ${msg}`);
    expect(f!.type).toBe(MessageType.Response);
  });

  it("maps a synchronous throw of a plain Error to UNKNOWN", async () => {
    peer.send(requestFrame(1, { service: "test.Svc", method: "Sync" }));
    const [f] = await peer.waitFrames(1);
    expect(decodeResponse(f!).status).toMatchObject({ code: Code.UNKNOWN, message: "boom" });
  });

  it("answers unknown services and methods with UNIMPLEMENTED", async () => {
    peer.send(requestFrame(1, { service: "containerd.task.v3.Task", method: "Create" }));
    peer.send(requestFrame(3, { service: "test.Svc", method: "NoSuchMethod" }));
    const [s, m] = await peer.waitFrames(2);
    expect(decodeResponse(s!).status?.code).toBe(Code.UNIMPLEMENTED);
    expect(decodeResponse(s!).status?.message).toMatch(/^service containerd\.task\.v3\.Task\b/);
    expect(decodeResponse(m!).status?.code).toBe(Code.UNIMPLEMENTED);
    expect(decodeResponse(m!).status?.message).toMatch(/^method NoSuchMethod\b/);
  });

  it("rejects even stream ids and keeps the connection", async () => {
    peer.send(requestFrame(2, { service: "test.Svc", method: "Empty" }));
    const [f] = await peer.waitFrames(1);
    expect(f!.streamId).toBe(2);
    expect(decodeResponse(f!).status?.code).toBe(Code.INVALID_ARGUMENT);
    expect(decodeResponse(f!).status?.message).toContain("StreamID must be odd for client initiated streams");
    await expectEcho(5, "still here", 1);
  });

  it("answers an undecodable Request with INVALID_ARGUMENT and keeps the connection", async () => {
    peer.send(
      encodeFrame({ streamId: 1, type: MessageType.Request, flags: 0, payload: Uint8Array.of(0xff, 0xff, 0xff) }),
    );
    const [f] = await peer.waitFrames(1);
    expect(decodeResponse(f!).status?.code).toBe(Code.INVALID_ARGUMENT);
    await expectEcho(3, "ok", 1);
  });

  it("ignores Response, Data and unknown frame types", async () => {
    for (const type of [MessageType.Response, MessageType.Data, 0, 9, 255]) {
      peer.send(encodeFrame({ streamId: 1, type, flags: 0, payload: Uint8Array.of(1, 2) }));
    }
    await expectEcho(3, "first", 0);
  });

  it("answers an oversize frame split across chunks with RESOURCE_EXHAUSTED, then serves the next", async () => {
    const length = MAX_MESSAGE_LENGTH + 10;
    const head = Buffer.alloc(10);
    head.writeUInt32BE(length, 0);
    head.writeUInt32BE(7, 4);
    head[8] = MessageType.Request;
    peer.send(head.subarray(0, 4));
    peer.send(head.subarray(4));
    for (let sent = 0; sent < length; sent += 1 << 20) peer.send(Buffer.alloc(Math.min(1 << 20, length - sent), 0xab));
    peer.send(echo(9, "after"));
    const [big, next] = await peer.waitFrames(2);
    expect(big!.streamId).toBe(7);
    expect(decodeResponse(big!).status?.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(next!.streamId).toBe(9);
    expect(new TextDecoder().decode(decodeResponse(next!).payload)).toBe("after");
  });

  it("turns a response over 4 MiB into RESOURCE_EXHAUSTED", async () => {
    peer.send(requestFrame(1, { service: "test.Svc", method: "Huge" }));
    const [f] = await peer.waitFrames(1);
    expect(decodeResponse(f!).status?.code).toBe(Code.RESOURCE_EXHAUSTED);
  });

  it("survives random garbage and keeps serving other connections", async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff));
    for (let i = 0; i < 8; i++) peer.send(garbage);
    peer.send(Buffer.alloc(1 << 16, 0x00)); // zero-length frames of type 0: ignored
    const other = await RawPeer.connect(sock);
    other.send(echo(1, "alive"));
    const [f] = await other.waitFrames(1);
    expect(new TextDecoder().decode(decodeResponse(f!).payload)).toBe("alive");
    other.close();
  });

  it("status messages come only from ShimError/toStatus, codes preserved", async () => {
    server.register("test.Svc", "Busy", async () => {
      throw new ShimError(Code.UNAVAILABLE, "try later");
    });
    peer.send(requestFrame(1, { service: "test.Svc", method: "Busy" }));
    const [f] = await peer.waitFrames(1);
    expect(decodeResponse(f!).status).toMatchObject({ code: Code.UNAVAILABLE, message: "try later: unavailable" });
    expect(decodeResponse(f!).payload.length).toBe(0);
  });
});
