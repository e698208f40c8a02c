// containerd's `start` against each built executable, with a stand-in spare on the control socket:
// the native entry (native/entry/fast_start.c) hands it the command line, environment, working
// directory and stdin byte for byte and prints the address it answers, before Node boots; any
// other answer leaves it to Node's `start`, which then reads the same stdin.
import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ensureFixtures, fixturePath } from "@wasm-shims/test-fixtures";
import { SOCKET_DIR, spareSocketPath } from "../../src/cli/socket.ts";
import type { NativeStartRequest } from "../../src/cli/spare-start.ts";
import { binDir, lastId, startIn } from "./start-harness.ts";

const dir = mkdtempSync(join(tmpdir(), "fast-start-"));
// The address is part of the control socket's name: one of our own, so no real spare answers.
const address = join(dir, "containerd.sock");
let spare: Server | undefined;
afterEach(() => spare?.close());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in spare for `exe` that records the request and answers `reply`. */
async function standIn(exe: string, reply: string): Promise<() => NativeStartRequest> {
  let request = "";
  const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
  mkdirSync(SOCKET_DIR, { recursive: true });
  rmSync(control, { force: true });
  spare = createServer((c) => {
    c.setEncoding("latin1");
    c.on("data", (d: string) => {
      request += d;
      if (request.endsWith("\n")) c.end(reply);
    });
  });
  await new Promise<void>((resolve) => spare?.listen(control, resolve));
  return () => JSON.parse(request) as NativeStartRequest;
}

/** Runs `start` as containerd does, with this file's containerd address. */
const runStart = (exe: string, input: Buffer, env: Record<string, string> = {}, flags: string[] = []) =>
  startIn(dir, address, exe, input, env, flags);

const options = Buffer.from([0x0a, 0x04, 0xff, 0x00, 0x22, 0x5c]);

describe.each(["node", "jco", "wasmer"])("containerd-shim-%s-v1 start", (engine) => {
  const exe = join(binDir, `containerd-shim-${engine}-v1`);

  it("hands a waiting spare everything as it came, and prints the address it answers", async () => {
    const request = await standIn(exe, "address unix:///run/containerd/s/pod\n");
    const r = await runStart(exe, options, { ODD: 'caf\u00e9 "quoted" \\ \n', WASM_SHIM_X: "1" });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe("unix:///run/containerd/s/pod");
    const { start } = request();
    expect(start.argv.slice(1)).toEqual(r.args);
    expect(Buffer.from(start.argv[0] ?? "", "latin1").toString()).toBe(exe);
    const env = start.env.map((kv) => Buffer.from(kv, "latin1").toString("utf8"));
    expect(env).toContain('ODD=caf\u00e9 "quoted" \\ \n');
    expect(start.cwd).toBe(r.bundle);
    expect(Buffer.from(start.stdin, "latin1")).toEqual(options);
    expect(start.ppid).toBe(process.pid);
    expect(start.priority).toBe(0);
    // The spare writes the bundle's address file; Node's `start` never ran.
    expect(existsSync(join(r.bundle, "address"))).toBe(false);
  });

  it("waits for a spare that is booting (its claim stands), as Node's start would", async () => {
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    writeFileSync(`${control}.claim`, "");
    try {
      const started = runStart(exe, options);
      await new Promise((resolve) => setTimeout(resolve, 40));
      await standIn(exe, "address unix:///run/containerd/s/late\n");
      const r = await started;
      expect(r.stdout.toString()).toBe("unix:///run/containerd/s/late");
      expect(existsSync(`${control}.waiter`)).toBe(false);
    } finally {
      rmSync(`${control}.claim`, { force: true });
    }
  });

  it("does not wait when another start waits already, nor for a claim left long ago", async () => {
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    // Had it waited, the spare showing up 40 ms later would answer; instead Node's start runs, and
    // fails on this stdin before it looks for a spare (see below).
    for (const setup of [
      () => writeFileSync(`${control}.waiter`, ""),
      () => utimesSync(`${control}.claim`, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000)),
    ]) {
      writeFileSync(`${control}.claim`, "");
      setup();
      try {
        const started = runStart(exe, Buffer.from("not protobuf", "latin1"));
        await new Promise((resolve) => setTimeout(resolve, 40));
        await standIn(exe, "address unix:///run/containerd/s/late\n");
        const r = await started;
        expect(r.stdout.toString()).toBe("");
        expect(r.status).not.toBe(0);
      } finally {
        spare?.close();
        rmSync(`${control}.claim`, { force: true });
        rmSync(`${control}.waiter`, { force: true });
      }
    }
  });

  it("leaves it to Node's start when the spare says no, with stdin put back", async () => {
    const request = await standIn(exe, "spares disabled\n");
    // Not containerd's parameters: Node's start fails on these very bytes, so it read them.
    const r = await runStart(exe, Buffer.from("not protobuf \xff", "latin1"), { WASM_SHIM_SPARE: "0" });
    expect(request().start.stdin).toBe("not protobuf \xff");
    expect(r.status).not.toBe(0);
    expect(r.stdout.toString()).toBe("");
    expect(r.stderr.toString()).toMatch(/stdin|parameters|options|protobuf|wire/i);
  });
});

describe.each(["node", "jco", "wasmer"])("containerd-shim-%s-v1's runner", (engine) => {
  it("keeps its stdin when the guest's last argument is `start`", async () => {
    await ensureFixtures();
    const hello = fixturePath("hello");
    const child = spawn(join(binDir, `containerd-shim-${engine}-v1`), [
      "--run-wasm",
      hello,
      "{}",
      "--",
      "/hello.wasm",
      "start",
    ]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    // stdin stays open: had the native entry taken this for containerd's start, it would read
    // stdin to its end before the guest ran, and the guest would never run.
    const closed = once(child, "close");
    const ran = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
    child.kill("SIGKILL");
    expect(ran).toBe(true);
    expect(out).toContain("hello from wasm");
  }, 30_000);
});

describe("a real spare, asked by the native entry", () => {
  it("becomes the pod's daemon and answers its address, even for a bundle containerd has removed", async () => {
    const exe = join(binDir, "containerd-shim-node-v1");
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    // The spare lives as long as the process it takes for containerd: this test's.
    const spareProc = spawn(exe, ["-address", address, "-socket", control, "spare"], {
      env: { PATH: "/usr/bin:/bin", WASM_SHIM_CONTAINERD_PID: String(process.pid) },
      stdio: "ignore",
    });
    let pod = "";
    try {
      for (let i = 0; i < 200 && !existsSync(control); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(control)).toBe(true);
      const gone = join(dir, "removed-bundle");
      const r = await runStart(exe, Buffer.alloc(0), {}, ["-bundle", gone]);
      expect(r.stderr.toString()).toBe("");
      expect(r.status).toBe(0);
      pod = r.stdout.toString();
      expect(pod).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
      // The spare serves there now, under the daemon's command line (its title), and its control
      // socket is gone.
      expect(existsSync(pod.slice("unix://".length))).toBe(true);
      expect(existsSync(control)).toBe(false);
      expect(readFileSync(`/proc/${spareProc.pid}/cmdline`, "utf8")).toContain(
        `-namespace ns -id ${lastId()} -address ${address}`,
      );
    } finally {
      spareProc.kill("SIGKILL");
      // Killed, it leaves its sockets behind.
      rmSync(control, { force: true });
      if (pod) rmSync(pod.slice("unix://".length), { force: true });
    }
  });
});
