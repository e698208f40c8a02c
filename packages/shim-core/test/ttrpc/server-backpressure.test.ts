/**
 * A peer that sends requests and never reads the answers: before, every answer queued in the
 * daemon's memory (the fuzzer's slow readers); now the server stops reading that peer's requests
 * while more than MAX_UNREAD_ANSWERS of its answers are unread, and answers them all once it reads.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_UNREAD_ANSWERS } from "../../src/ttrpc/server-connection.ts";
import { TtrpcServer } from "../../src/ttrpc/server.ts";
import { RawPeer, delay, removeTempDirs, requestFrame, tempSocketPath } from "./helpers.ts";

const ANSWER = 64 * 1024;
const REQUESTS = 400;

let server: TtrpcServer;
let handled: number;
let sock: string;

beforeEach(async () => {
  handled = 0;
  server = new TtrpcServer();
  // A small request with a large answer, as an UNIMPLEMENTED echo of a long method name is.
  server.register("test.Svc", "Big", async () => {
    handled += 1;
    return new Uint8Array(ANSWER);
  });
  sock = tempSocketPath();
  await server.listen(sock);
});

afterEach(async () => {
  await server.close();
  removeTempDirs();
});

describe("TtrpcServer with a peer that does not read", () => {
  it("stops taking its requests while its unread answers exceed the limit, then answers them all", async () => {
    const peer = await RawPeer.connect(sock);
    peer.socket.pause();
    // One request at a time, as a client that keeps sending would: the server reads them one by one.
    for (let i = 0; i < REQUESTS; i++) {
      peer.send(requestFrame(2 * i + 1, { service: "test.Svc", method: "Big" }));
      await delay(1);
    }
    await delay(200);
    // Some answers sit in the kernel's socket buffers, the rest in the server's: both bounded.
    const bounded = Math.ceil((MAX_UNREAD_ANSWERS + (8 << 20)) / ANSWER);
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(Math.min(bounded, REQUESTS));
    peer.socket.resume();
    await peer.waitFrames(REQUESTS, 20_000);
    expect(handled).toBe(REQUESTS);
    expect(new Set(peer.frames.map((f) => f.streamId)).size).toBe(REQUESTS);
    peer.close();
  });

  // The daemon closes the server right after answering containerd's Shutdown: an answer still in
  // the server's buffer (the peer has not read it yet) must go out before the connection closes.
  it("closes a connection only once the answers already written to it have gone out", async () => {
    server.register("test.Svc", "Huge", async () => new Uint8Array(3 << 20));
    const peer = await RawPeer.connect(sock);
    peer.socket.pause();
    peer.send(requestFrame(1, { service: "test.Svc", method: "Huge" }));
    await delay(200);
    const closing = server.close();
    await delay(50);
    peer.socket.resume();
    await peer.waitFrames(1, 10_000);
    await closing;
    expect(peer.frames[0]!.payload.length).toBeGreaterThan(3 << 20);
    await peer.closed;
  });
});
