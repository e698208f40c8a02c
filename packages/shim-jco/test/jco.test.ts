import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Containerd, eventually } from "@wasm-shims/test-lab";
import { ensureFixtures, fixturePath, writeOciImage } from "@wasm-shims/test-fixtures";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { descendants, listProcs } from "@wasm-shims/test-lab/procfs.ts";
import { ENTRY_MODULE } from "../src/transpile.ts";
import { TRANSPILE_FLAG } from "../src/transpile-child.ts";
import { buildComponents } from "./components.ts";
import { createServer } from "node:net";
import { once } from "node:events";

const shimDir = fileURLToPath(new URL("../../../dist/bin", import.meta.url));
const runtime = "io.containerd.jco.v1";
const image = "localhost/jco-components:test";

// What only this engine does: components, the Create-time transpile cache shared by containers.
describe(`${runtime}: components and the transpile cache`, () => {
  let ctd: Containerd;
  let dir: string;
  let cache: string;
  let seq = 0;
  const id = (name: string) => `jco-${name}-${process.pid}-${++seq}`;
  const run = (args: string[]) =>
    ctd.ctr(["run", "--rm", "--runtime", runtime, image, id("run"), ...args], { timeoutMs: 60_000 });
  const count = (re: RegExp) =>
    ctd
      .logText()
      .split("\n")
      .filter((l) => re.test(l)).length;
  const entries = () => readdirSync(cache).filter((name) => !name.startsWith("."));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "jco-e2e-"));
    cache = join(dir, "cache");
    await ensureFixtures();
    const { hello, exit42, http } = await buildComponents();
    await writeOciImage(join(dir, "image.tar"), {
      ref: image,
      files: [
        { path: "/hello.component.wasm", content: hello, mode: 0o755 },
        { path: "/exit42.component.wasm", content: exit42, mode: 0o755 },
        { path: "/http.component.wasm", content: http, mode: 0o755 },
        // hello with a custom section: another digest, so another transpile.
        {
          path: "/fresh.component.wasm",
          content: Buffer.concat([hello, Buffer.from([0, 5, 3, 0x70, 0x61, 0x64, 1])]),
          mode: 0o755,
        },
        {
          path: "/broken.component.wasm",
          content: new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 0xff, 0xff]),
          mode: 0o755,
        },
        { path: "/hello.wasm", source: fixturePath("hello"), mode: 0o755 },
        { path: "/sleep.wasm", source: fixturePath("sleep"), mode: 0o755 },
      ],
      entrypoint: ["/hello.component.wasm"],
      os: "wasip1",
      architecture: "wasm",
    });
    ctd = await Containerd.start({ shimDir, env: { WASM_SHIM_JCO_CACHE: cache } });
    await ctd.importImage(join(dir, "image.tar"));
  });

  afterAll(async () => {
    await ctd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a component, then runs it again from the cache without transpiling", async () => {
    expect(await run([])).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect(count(/transpiled in \d+ ms/)).toBe(1);
    const [key] = entries();
    const mtime = statSync(join(cache, key!, ENTRY_MODULE)).mtimeMs;
    expect(await run([])).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect(count(/transpiled in \d+ ms/)).toBe(1);
    expect(count(/transpile cache hit/)).toBe(1);
    expect(statSync(join(cache, key!, ENTRY_MODULE)).mtimeMs).toBe(mtime);
  });

  it("passes a component's exit-with-code status through", async () => {
    expect((await run(["/exit42.component.wasm"])).code).toBe(42);
  });

  it("runs a preview1 core module on node:wasi, without transpiling it", async () => {
    const before = count(/transpiled in \d+ ms/);
    const cached = entries().length;
    expect(await run(["/hello.wasm"])).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect(count(/transpiled in \d+ ms/)).toBe(before);
    expect(entries().length).toBe(cached);
  });

  it("transpiles again rather than use a damaged cache entry", async () => {
    for (const key of entries()) writeFileSync(join(cache, key, ENTRY_MODULE), "garbage");
    const before = count(/transpiled in \d+ ms/);
    expect(await run([])).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect(count(/transpiled in \d+ ms/)).toBe(before + 1);
  });

  it("runs a Wasm command exec'd into a running container, sent its own cache entry", async () => {
    const cid = id("exec");
    expect((await ctd.ctr(["run", "-d", "--runtime", runtime, image, cid, "/sleep.wasm", "100000000"])).code).toBe(0);
    try {
      const exec = await ctd.ctr(["task", "exec", "--exec-id", "e1", cid, "/exit42.component.wasm"], {
        timeoutMs: 60_000,
      });
      expect(exec.code).toBe(42);
      const hello = await ctd.ctr(["task", "exec", "--exec-id", "e2", cid, "/hello.wasm"], { timeoutMs: 60_000 });
      expect(hello).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    } finally {
      await ctd.removeContainer(cid);
    }
  });

  it("transpiles in a process of its own, gone once the entry is written; one jco refuses fails with jco's reason", async () => {
    const cid = id("child");
    const transpilers = () =>
      descendants(
        listProcs(),
        shimProcesses(ctd.socket).map((p) => p.pid),
      ).filter((p) => p.argv.includes(TRANSPILE_FLAG) && p.state !== "Z");
    expect((await ctd.ctr(["run", "-d", "--runtime", runtime, image, cid, "/sleep.wasm", "100000000"])).code).toBe(0);
    try {
      const before = count(/transpiled in \d+ ms/);
      const exec = (execId: string, path: string) =>
        ctd.ctr(["task", "exec", "--exec-id", execId, cid, path], { timeoutMs: 60_000 });
      expect(await exec("e1", "/fresh.component.wasm")).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
      expect(count(/transpiled in \d+ ms/)).toBe(before + 1);
      // Not the daemon: a process of its own, gone by now.
      const by = Number(
        /transpiled in \d+ ms by process (\d+)/.exec(
          ctd
            .logText()
            .split("\n")
            .findLast((l) => /transpiled in/.test(l)) ?? "",
        )?.[1],
      );
      expect(by).toBeGreaterThan(0);
      expect(shimProcesses(ctd.socket).map((p) => p.pid)).not.toContain(by);
      expect(existsSync(`/proc/${by}`)).toBe(false);
      expect(transpilers()).toEqual([]);
      const broken = await exec("e2", "/broken.component.wasm");
      expect(broken.code).not.toBe(0);
      expect(broken.stderr).toMatch(/\/broken\.component\.wasm cannot be transpiled by jco/);
      expect(transpilers()).toEqual([]);
      // The daemon lives on and still serves its container.
      expect(await exec("e3", "/hello.wasm")).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    } finally {
      await ctd.removeContainer(cid);
    }
  });

  it("serves a wasi:http/incoming-handler component on WASI_HTTP_LISTEN", async () => {
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as { port: number }).port;
    probe.close();
    const cid = id("http");
    const env = `WASI_HTTP_LISTEN=127.0.0.1:${port}`;
    expect(
      (
        await ctd.ctr([
          "run",
          "-d",
          "--net-host",
          "--env",
          env,
          "--runtime",
          runtime,
          image,
          cid,
          "/http.component.wasm",
        ])
      ).code,
    ).toBe(0);
    try {
      // The component listens only once the shim has transpiled and started it.
      await eventually(
        async () => expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("hello over http\n"),
        10_000,
      );
      expect(await (await fetch(`http://127.0.0.1:${port}/again`)).text()).toBe("hello over http\n");
    } finally {
      await ctd.removeContainer(cid);
    }
  });

  it("leaves nothing of its containers behind", async () => {
    await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  });

  it("never leaves a half-written entry or temporary directory in the cache", () => {
    expect(readdirSync(cache).filter((name) => name.startsWith("."))).toEqual([]);
    for (const key of entries())
      expect(JSON.parse(readFileSync(join(cache, key, "manifest.json"), "utf8"))).toHaveProperty("files");
  });
});
