import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Containerd, eventually } from "@wasm-shims/test-lab";
import { ensureFixtures, programPath, writeOciImage } from "@wasm-shims/test-fixtures";
import { buildComponents, httpStreamWat } from "./components.ts";

/**
 * A private containerd with one image of wasi:http components, and `serve`, which runs one of them
 * with `ctr run --rm --net-host` (attached, so the container's log is ctr's output and ctr's exit
 * code is the container's status) and waits until it answers.
 */
export const runtime = "io.containerd.jco.v1";
const image = "localhost/jco-http:test";
const shimDir = fileURLToPath(new URL("../../../dist/bin", import.meta.url));

/** A component that exports an interface of its own, neither wasi:cli/run nor wasi:http. */
const notAHandlerWat = `(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (instance $x (export "f" (func $f)))
  (export "local:test/thing" (instance $x)))`;

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface Served {
  cid: string;
  url: string;
  /** The container's stdout and stderr so far. */
  output(): string;
  /** The container's exit status once ctr run returns. */
  exited: Promise<number>;
  /** `ctr task kill -s SIGNAL`. */
  signal(signal: string): Promise<void>;
}

export class HttpHarness {
  ctd!: Containerd;
  #dir = "";
  #seq = 0;
  #running = new Map<string, Served>();

  async start(): Promise<void> {
    this.#dir = mkdtempSync(join(tmpdir(), "jco-http-"));
    await ensureFixtures();
    const { http, httpTrap } = await buildComponents();
    const { parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
    await writeOciImage(join(this.#dir, "image.tar"), {
      ref: image,
      files: [
        { path: "/app.wasm", source: programPath("http-app-js"), mode: 0o755 },
        { path: "/raw.wasm", source: programPath("http-raw-headers-js"), mode: 0o755 },
        { path: "/tiny.wasm", content: http, mode: 0o755 },
        { path: "/trap.wasm", content: httpTrap, mode: 0o755 },
        { path: "/stream.wasm", content: await parse(httpStreamWat(100 * 1024 * 1024)), mode: 0o755 },
        { path: "/lib.wasm", content: await parse(notAHandlerWat), mode: 0o755 },
      ],
      entrypoint: ["/app.wasm"],
      os: "wasip1",
      architecture: "wasm",
    });
    this.ctd = await Containerd.start({ shimDir, env: { WASM_SHIM_JCO_CACHE: join(this.#dir, "cache") } });
    await this.ctd.importImage(join(this.#dir, "image.tar"));
  }

  async stop(): Promise<void> {
    await this.ctd?.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Runs `wasm` listening on a free port of 127.0.0.1 and waits until it answers `probe`. */
  async serve(
    wasm: string,
    opts: { env?: string[]; ctrArgs?: string[]; probe?: string; probeMethod?: string; listenEnv?: string } = {},
  ): Promise<Served> {
    const port = await freePort();
    const cid = `jco-http-${process.pid}-${++this.#seq}`;
    const env = [`${opts.listenEnv ?? "WASI_HTTP_LISTEN"}=127.0.0.1:${port}`, ...(opts.env ?? [])];
    const child = this.ctd.ctrSpawn([
      "run",
      "--rm",
      "--net-host",
      ...(opts.ctrArgs ?? []),
      ...env.flatMap((e) => ["--env", e]),
      "--runtime",
      runtime,
      image,
      cid,
      wasm,
    ]);
    let text = "";
    child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (text += d.toString()));
    const exited = new Promise<number>((resolve) =>
      child.on("close", (code, signal) => resolve(code ?? (signal ? 128 + 9 : -1))),
    );
    const served: Served = {
      cid,
      url: `http://127.0.0.1:${port}`,
      output: () => text,
      exited,
      signal: async (signal) => {
        const r = await this.ctd.ctr(["task", "kill", "-s", signal, cid]);
        if (r.code !== 0) throw new Error(`ctr task kill -s ${signal} ${cid}: ${r.stderr}`);
      },
    };
    this.#running.set(cid, served);
    void exited.then(() => this.#running.delete(cid));
    // The first run of a component transpiles it at Create (tens of seconds for a JS one).
    await eventually(async () => {
      if (!this.#running.has(cid)) throw new Error(`the container exited before serving:\n${text}`);
      const res = await fetch(`${served.url}${opts.probe ?? "/"}`, {
        method: opts.probeMethod ?? "GET",
        signal: AbortSignal.timeout(5000),
      });
      await res.arrayBuffer();
    }, 180_000);
    // The first thread answers before the others have started; the line comes when all have.
    await eventually(() => {
      if (!/serving HTTP on /.test(text)) throw new Error(`no "serving HTTP" line yet:\n${text}`);
    }, 60_000);
    return served;
  }

  /** Kills whatever a test left running. */
  async cleanup(): Promise<void> {
    for (const cid of [...this.#running.keys()]) await this.ctd.removeContainer(cid);
  }

  async leftovers(): Promise<string[]> {
    return this.ctd.leftovers();
  }
}

/** The container's main process (the runner) as the host sees it. */
export async function taskPid(ctd: Containerd, cid: string): Promise<number> {
  const r = await ctd.ctr(["task", "ls"]);
  const line = r.stdout.split("\n").find((l) => l.split(/\s+/)[0] === cid);
  const pid = Number(line?.split(/\s+/)[1]);
  if (!pid) throw new Error(`no task ${cid} in:\n${r.stdout}`);
  return pid;
}
