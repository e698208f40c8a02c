import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@wasm-shims/test-lab";
import { freePort, HttpHarness, runtime, taskPid } from "./http-harness.ts";

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
// Byte k of an upload is k % 251; byte i of each 64 KiB download chunk is i % 251 (http-app.js).
const uploadSource = new Uint8Array(CHUNK + 251).map((_, i) => i % 251);
const downloadChunk = new Uint8Array(CHUNK).map((_, i) => i % 251);

function* upload(total: number): Generator<Uint8Array> {
  for (let sent = 0; sent < total; sent += CHUNK)
    yield uploadSource.subarray(sent % 251, (sent % 251) + Math.min(CHUNK, total - sent));
}

/** One raw HTTP/1.1 exchange on its own socket: the response head's lines exactly as sent. */
async function rawExchange(url: string, requestHead: Buffer): Promise<{ head: string[]; body: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  socket.end(requestHead);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("latin1");
  const [head, ...rest] = text.split("\r\n\r\n");
  return { head: head!.split("\r\n"), body: rest.join("\r\n\r\n") };
}

function get(url: string, agent: Agent): Promise<{ res: IncomingMessage; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ res, body, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe(`${runtime}: serving wasi:http components`, () => {
  const h = new HttpHarness();
  beforeAll(() => h.start(), 240_000);
  afterEach(() => h.cleanup());
  afterAll(() => h.stop());

  it("serves a JavaScript component built by componentize-js with a fresh instance per request", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello" });
    expect(s.output()).toMatch(
      /serving HTTP on http:\/\/127\.0\.0\.1:\d+\/ \(\d+ threads?, a fresh instance per request\)/,
    );
    expect(await (await fetch(`${s.url}/hello`)).text()).toBe("hello from js\n");
    // Module state starts over: every request runs in an instance nobody used before.
    for (let i = 0; i < 3; i++) expect(await (await fetch(`${s.url}/count`)).text()).toBe("1\n");
  }, 240_000);

  it("passes status codes and headers through exactly, repeated ones in order, values as bytes", async () => {
    const s = await h.serve("/raw.wasm");
    const head = Buffer.concat([
      Buffer.from(
        "GET /p/q?x=1&y=2 HTTP/1.1\r\nHost: example.test\r\nX-Dup: 1\r\nx-other: z\r\nX-Dup: 2\r\nx-status: 299\r\nx-bytes: caf",
        "latin1",
      ),
      Buffer.from([0xe9, 0x80]),
      Buffer.from("\r\nConnection: close\r\n\r\n", "latin1"),
    ]);
    const { head: lines, body } = await rawExchange(s.url, head);
    expect(lines[0]).toBe("HTTP/1.1 299 unknown");
    expect(lines.filter((l) => /^x-/i.test(l))).toEqual([
      "X-Dup: 1",
      "x-other: z",
      "X-Dup: 2",
      "x-status: 299",
      "x-bytes: caf\u00e9\u0080",
      "x-served: 1",
    ]);
    const seen = JSON.parse(body.slice(body.indexOf("{"), body.lastIndexOf("}") + 1)) as {
      method: string;
      path: string;
      authority: string;
      headers: [string, number[]][];
    };
    expect(seen).toMatchObject({ method: "GET", path: "/p/q?x=1&y=2", authority: "example.test" });
    // What the server owns (Host, Connection) is not among the handler's headers, as in wasmtime.
    expect(seen.headers).toEqual([
      ["X-Dup", [49]],
      ["x-other", [122]],
      ["X-Dup", [50]],
      ["x-status", [50, 57, 57]],
      ["x-bytes", [99, 97, 102, 0xe9, 0x80]],
    ]);

    const app = await h.serve("/app.wasm", { probe: "/hello" });
    for (const status of [201, 404, 418, 503]) {
      const res = await fetch(`${app.url}/status/${status}`);
      expect([res.status, await res.text()]).toEqual([status, `status ${status}\n`]);
    }
    expect((await fetch(`${app.url}/status/204`)).status).toBe(204);
  }, 240_000);

  it("keeps connections alive and serves many connections at once", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello" });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await get(`${s.url}/hello`, keepAlive));
    keepAlive.destroy();
    expect(results.map((r) => r.body)).toEqual(Array(8).fill("hello from js\n"));
    expect(results.filter((r) => r.reused).length).toBe(7);

    // 300 connections at once, each its own socket, each request waiting 200 ms in the handler.
    const many = new Agent({ keepAlive: false, maxSockets: Infinity });
    const all = await Promise.all(Array.from({ length: 300 }, () => get(`${s.url}/sleep?ms=200`, many)));
    many.destroy();
    expect(all.map((r) => r.res.statusCode)).toEqual(Array(300).fill(200));
    expect(new Set(all.map((r) => r.body))).toEqual(new Set(["slept 200 ms\n"]));
  }, 240_000);

  it("streams a 100 MB upload and a 100 MB download in bounded memory", async () => {
    // A guest that keeps nothing: what the bodies cost is the server's own memory.
    const s = await h.serve("/stream.wasm", { probeMethod: "HEAD" });
    const pid = await taskPid(h.ctd, s.cid);
    const status = () =>
      Object.fromEntries(
        readFileSync(`/proc/${pid}/status`, "utf8")
          .split("\n")
          .map((l) => l.split(/:\s+/))
          .filter((p) => p.length === 2),
      ) as Record<string, string>;
    const kb = (v: string | undefined) => Number(v?.replace(/ kB$/, ""));
    await fetch(s.url, { method: "POST", body: "warm" }).then((r) => r.text());
    writeFileSync(`/proc/${pid}/clear_refs`, "5"); // the peak (VmHWM) starts again from here
    const before = kb(status().VmRSS);

    const up = await fetch(s.url, {
      method: "POST",
      body: Readable.toWeb(Readable.from(upload(100 * MB))) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    expect(await up.text(), s.output()).toBe(String(100 * MB));
    const down = await fetch(s.url);
    let received = 0;
    let wrong = 0;
    for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = 0; i < chunk.length; i += 97) if (chunk[i] !== ((received + i) % 4096) % 251) wrong++;
      received += chunk.length;
    }
    expect([received, wrong]).toEqual([100 * MB, 0]);
    // Bounded: well under one body, whatever its size (what remains is garbage V8 has not collected yet).
    expect((kb(status().VmHWM) - before) / 1024).toBeLessThan(64);
  }, 240_000);

  it("streams 100 MB both ways through a JavaScript component", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello" });
    const up = await fetch(`${s.url}/upload`, {
      method: "POST",
      body: Readable.toWeb(Readable.from(upload(100 * MB))) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    const counted = (await up.json()) as { bytes: number; chunks: number; sampled: number };
    expect(counted.bytes).toBe(100 * MB);
    expect(counted.sampled).toBe(counted.chunks);
    const down = await fetch(`${s.url}/download?bytes=${100 * MB}`);
    let received = 0;
    let wrong = 0;
    for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = 0; i < chunk.length; i += 4099) if (chunk[i] !== downloadChunk[(received + i) % CHUNK]) wrong++;
      received += chunk.length;
    }
    expect([received, wrong]).toEqual([100 * MB, 0]);
  }, 240_000);

  it("makes outgoing requests with wasi:http/outgoing-handler", async () => {
    const seen: { method?: string | undefined; body: string; from?: string | undefined } = { body: "" };
    const upstream = createServer((req, res) => {
      seen.method = req.method;
      seen.from = req.headers["x-from"] as string;
      req.setEncoding("utf8");
      req.on("data", (d: string) => (seen.body += d));
      req.on("end", () => res.writeHead(202, { "x-upstream": "yes" }).end("from upstream"));
    });
    const port = await freePort();
    upstream.listen(port, "127.0.0.1");
    await once(upstream, "listening");
    try {
      const s = await h.serve("/app.wasm", { probe: "/hello" });
      const res = await fetch(`${s.url}/fetch?url=${encodeURIComponent(`http://127.0.0.1:${port}/up?x=1`)}`);
      expect(await res.json()).toEqual({ status: 202, body: "from upstream", header: "yes" });
      expect(seen).toEqual({ method: "POST", body: "from the component", from: "component" });
    } finally {
      upstream.close();
    }
  }, 240_000);

  it("listens where SPIN_HTTP_LISTEN_ADDR says when WASI_HTTP_LISTEN is not set", async () => {
    const s = await h.serve("/tiny.wasm", { listenEnv: "SPIN_HTTP_LISTEN_ADDR" });
    expect(await (await fetch(`${s.url}/`)).text()).toBe("hello over http\n");
  }, 240_000);

  it("leaves nothing of its containers behind", async () => {
    await eventually(async () => expect(await h.leftovers()).toEqual([]), 30_000);
  }, 240_000);
});
