import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@wasm-shims/test-lab";
import { HttpHarness, runtime } from "./http-harness.ts";

const threads = (output: string) => Number(/\((\d+) threads?, /.exec(output)?.[1]);

/** A fresh connection per try (the kernel spreads new connections over the threads). */
async function answeredOnNewConnection(url: string, tries: number): Promise<string | undefined> {
  for (let i = 0; i < tries; i++) {
    try {
      const res = await fetch(url, { headers: { connection: "close" }, signal: AbortSignal.timeout(1500) });
      return await res.text();
    } catch {
      // that connection landed on the busy thread
    }
  }
  return undefined;
}

describe(`${runtime}: wasi:http threads, instances, stopping and errors`, () => {
  const h = new HttpHarness();
  beforeAll(() => h.start(), 240_000);
  afterEach(() => h.cleanup());
  afterAll(() => h.stop());

  it("runs one event loop per CPU the container may use; one spinning handler does not stop the others", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello" });
    const n = threads(s.output());
    expect(n).toBe(availableParallelism());
    if (n < 2) return; // a one-CPU machine has no second event loop to show
    const spinning = fetch(`${s.url}/spin`, { signal: AbortSignal.timeout(60_000) }).catch(() => "ended");
    await sleep(500);
    expect(await answeredOnNewConnection(`${s.url}/hello`, 30)).toBe("hello from js\n");
    // SIGKILL ends the container even with a guest spinning in a hot loop.
    await s.signal("SIGKILL");
    expect(await s.exited).toBe(137);
    expect(await spinning).toBe("ended");
  }, 240_000);

  it("follows the container's CPU quota (--cpus 1: one event loop)", async () => {
    const s = await h.serve("/tiny.wasm", { ctrArgs: ["--cpus", "1"] });
    expect(threads(s.output())).toBe(1);
    expect(await (await fetch(`${s.url}/`)).text()).toBe("hello over http\n");
  }, 240_000);

  it("reuses instances across requests only when WASI_HTTP_INSTANCE_REUSE is set", async () => {
    const served = async (url: string) => Number((await fetch(url)).headers.get("x-served"));
    const fresh = await h.serve("/raw.wasm", { env: ["WASI_HTTP_WORKERS=1"] });
    expect([await served(fresh.url), await served(fresh.url), await served(fresh.url)]).toEqual([1, 1, 1]);

    const reused = await h.serve("/raw.wasm", {
      env: ["WASI_HTTP_INSTANCE_REUSE=1", "WASI_HTTP_WORKERS=1", "WASI_HTTP_POOL=1"],
    });
    expect(reused.output()).toMatch(/\(1 thread, instances reused across requests\)/);
    const first = await served(reused.url);
    expect([await served(reused.url), await served(reused.url)]).toEqual([first + 1, first + 2]);
  }, 240_000);

  it("falls back to fresh instances for a component that cannot answer twice (componentize-js's fetch event)", async () => {
    const s = await h.serve("/app.wasm", {
      probe: "/hello",
      env: ["WASI_HTTP_INSTANCE_REUSE=1", "WASI_HTTP_WORKERS=1"],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${s.url}/hello`)).status);
    // At most the first request on a used instance fails; then every request gets a fresh one.
    expect(statuses.filter((c) => c !== 200).length).toBeLessThanOrEqual(1);
    expect(statuses.slice(-2)).toEqual([200, 200]);
    expect(s.output()).toMatch(
      /WASI_HTTP_INSTANCE_REUSE is set, but this component did not answer a request on an instance it had used before/,
    );
  }, 240_000);

  it("drains on SIGTERM: requests in flight finish, new connections are refused, and it exits 0", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello" });
    const inFlight = fetch(`${s.url}/sleep?ms=6000`).then(async (r) => [r.status, await r.text()]);
    await eventually(() => expect(s.output()).toMatch(/sleeping 6000 ms/), 30_000);
    await s.signal("SIGTERM");
    await eventually(() => expect(s.output()).toMatch(/stopping: no new connections/), 10_000);
    await expect(
      fetch(`${s.url}/hello`, { headers: { connection: "close" }, signal: AbortSignal.timeout(5000) }),
    ).rejects.toThrow();
    expect(await inFlight).toEqual([200, "slept 6000 ms\n"]);
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/stopped\n/);
  }, 240_000);

  it("cuts off requests that outlast WASI_HTTP_DRAIN_TIMEOUT and still exits 0", async () => {
    const s = await h.serve("/app.wasm", { probe: "/hello", env: ["WASI_HTTP_DRAIN_TIMEOUT=1"] });
    const stuck = fetch(`${s.url}/sleep?ms=120000`).then(
      () => "answered",
      () => "cut off",
    );
    await eventually(() => expect(s.output()).toMatch(/sleeping 120000 ms/), 30_000);
    const t0 = Date.now();
    await s.signal("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(await stuck).toBe("cut off");
    expect(s.output()).toMatch(/stopped; 1 request was cut off at the deadline/);
  }, 240_000);

  it("answers 500 for a handler that traps, logs the trap with method and path, and keeps serving", async () => {
    const s = await h.serve("/trap.wasm");
    for (let i = 0; i < 5; i++) {
      const trapped = await fetch(`${s.url}/boom/${i}`, { method: "POST", body: "x" });
      expect([trapped.status, await trapped.text()]).toEqual([500, "internal server error\n"]);
      const fine = await fetch(`${s.url}/fine/${i}`);
      expect([fine.status, await fine.text()]).toEqual([200, "not a POST\n"]);
    }
    await eventually(() => expect(s.output()).toMatch(/wasm trap in POST \/boom\/4: .*unreachable/));
    expect(s.output().match(/wasm trap in POST \/boom\/\d: .*unreachable/g)).toHaveLength(5);
  }, 240_000);

  it("refuses a component that is not a wasi:http handler (nor a command) with a clear error", async () => {
    const r = await h.ctd.ctr(
      ["run", "--rm", "--runtime", runtime, "localhost/jco-http:test", `jco-http-lib-${process.pid}`, "/lib.wasm"],
      { timeoutMs: 120_000 },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /\/lib\.wasm exports neither wasi:cli\/run nor wasi:http\/incoming-handler \(exports: .*local:test\/thing\)/,
    );
  }, 240_000);

  it("leaves nothing of its containers behind", async () => {
    await eventually(async () => expect(await h.leftovers()).toEqual([]), 30_000);
  }, 240_000);
});
