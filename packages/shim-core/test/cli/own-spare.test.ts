// The native entry's `start` when no spare waits (native/entry/own_spare.c): it forks a spare of
// its own (cli/spare.ts, runOwnSpare) and hands it the request a waiting spare would get, rather
// than leaving Node's `start` to boot Node and spawn a daemon that boots it again.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SOCKET_DIR, spareSocketPath } from "../../src/cli/socket.ts";
import { binDir, lastId, processesWith, startIn } from "./start-harness.ts";

const dir = mkdtempSync(join(tmpdir(), "own-spare-"));
// The address is part of the control socket's name: one of our own, so no real spare answers.
const address = join(dir, "containerd.sock");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runStart = (exe: string, input: Buffer, env: Record<string, string> = {}, flags: string[] = []) =>
  startIn(dir, address, exe, input, env, flags);

describe("with no spare waiting", () => {
  const exe = join(binDir, "containerd-shim-node-v1");
  // The native entry marks the spare it forks in its environment, where /proc keeps it.
  const forked = "WASM_SHIM_START_FD=3";

  it("forks a spare of its own, which becomes the pod's daemon in its own session", async () => {
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    rmSync(control, { force: true });
    const bundle = join(dir, "own-spare");
    mkdirSync(bundle);
    const r = await runStart(exe, Buffer.alloc(0), {}, ["-bundle", bundle]);
    const pod = r.stdout.toString();
    const daemons = processesWith(forked, `-id ${lastId()} `);
    try {
      expect(r.stderr.toString()).toBe("");
      expect(r.status).toBe(0);
      expect(pod).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
      expect(existsSync(pod.slice("unix://".length))).toBe(true);
      expect(readFileSync(join(bundle, "address"), "utf8")).toBe(pod);
      // One daemon, the forked spare adopted: the daemon's command line under its title, in a
      // session of its own.
      expect(daemons).toHaveLength(1);
      const [daemon] = daemons;
      expect(daemon?.cmdline).toContain(`-bundle ${bundle} serve`);
      expect(daemon?.session).toBe(daemon?.pid);
    } finally {
      for (const d of daemons) process.kill(d.pid, "SIGKILL");
      if (pod) rmSync(pod.slice("unix://".length), { force: true });
    }
  });

  it("forks its own when the waiting spare is busy adopting another pod", async () => {
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    mkdirSync(SOCKET_DIR, { recursive: true });
    rmSync(control, { force: true });
    // A spare that has just taken another pod answers every other start "busy".
    const busy = createServer((c) => c.on("data", () => c.end("busy\n")));
    await new Promise<void>((resolve) => busy.listen(control, resolve));
    let daemons: ReturnType<typeof processesWith> = [];
    let pod = "";
    try {
      const r = await runStart(exe, Buffer.alloc(0));
      pod = r.stdout.toString();
      daemons = processesWith(forked, `-id ${lastId()} `);
      expect(r.status).toBe(0);
      expect(pod).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
      expect(daemons).toHaveLength(1);
      expect(daemons[0]?.cmdline).toContain(" serve");
    } finally {
      busy.close();
      for (const d of daemons) process.kill(d.pid, "SIGKILL");
      if (pod) rmSync(pod.slice("unix://".length), { force: true });
    }
  });

  it("leaves it to Node's start when spares are off, or the spare it forked says no", async () => {
    // Spares off: Node's start spawns the daemon; nothing was forked.
    const off = await runStart(exe, Buffer.alloc(0), { WASM_SHIM_SPARE: "Off" });
    const offPod = off.stdout.toString();
    try {
      expect(off.status).toBe(0);
      expect(offPod).toMatch(/^unix:\/\//);
      expect(processesWith(forked, `-id ${lastId()} `)).toEqual([]);
      expect(existsSync(join(off.bundle, "address"))).toBe(true);
    } finally {
      for (const p of processesWith("", `-id ${lastId()} `)) process.kill(p.pid, "SIGKILL");
      if (offPod) rmSync(offPod.slice("unix://".length), { force: true });
    }
    // The forked spare refuses what Node's start fails on; that start then reads the same stdin,
    // and the spare is gone.
    const bad = await runStart(exe, Buffer.from("not protobuf \xff", "latin1"));
    expect(bad.status).not.toBe(0);
    expect(bad.stdout.toString()).toBe("");
    expect(bad.stderr.toString()).toMatch(/stdin|parameters|options|protobuf|wire/i);
    for (let i = 0; i < 50 && processesWith(forked, address).length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(processesWith(forked, address)).toEqual([]);
  });

  it("answers a pod's second container with the pod's address, then waits as the next pod's spare", async () => {
    const control = spareSocketPath(SOCKET_DIR, realpathSync(exe), address);
    rmSync(control, { force: true });
    rmSync(`${control}.claim`, { force: true });
    // Two containers of one pod, as CRI makes them: the sandbox's id in each one's spec.
    const bundles = ["sandbox", "app"].map((name) => {
      const bundle = join(dir, `pod-${name}`);
      mkdirSync(bundle);
      writeFileSync(
        join(bundle, "config.json"),
        JSON.stringify({ annotations: { "io.kubernetes.cri.sandbox-id": "sb-1" } }),
      );
      return bundle;
    });
    const first = await runStart(exe, Buffer.alloc(0), {}, ["-bundle", bundles[0]!]);
    const daemons = processesWith(forked, `-id ${lastId()} `);
    const second = await runStart(exe, Buffer.alloc(0), {}, ["-bundle", bundles[1]!]);
    const pod = first.stdout.toString();
    let spares: ReturnType<typeof processesWith> = [];
    try {
      expect(first.status).toBe(0);
      expect(second.stderr.toString()).toBe("");
      expect(second.status).toBe(0);
      expect(second.stdout.toString()).toBe(pod);
      expect(readFileSync(join(bundles[1]!, "address"), "utf8")).toBe(pod);
      // The second start's spare answered, and is the spare at the control socket half a second
      // later (the daemon would have started one a second after it serves, and did not).
      for (let i = 0; i < 100 && !existsSync(control); i++) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(control)).toBe(true);
      spares = processesWith(forked, `-address ${address} -socket ${control} spare`);
      expect(spares).toHaveLength(1);
      expect(daemons.map((d) => d.pid)).not.toContain(spares[0]?.pid);
      expect(existsSync(`${control}.claim`)).toBe(false);
    } finally {
      for (const p of [...daemons, ...spares]) process.kill(p.pid, "SIGKILL");
      for (const p of processesWith("", `-address ${address} `)) process.kill(p.pid, "SIGKILL");
      rmSync(control, { force: true });
      rmSync(`${control}.claim`, { force: true });
      if (pod) rmSync(pod.slice("unix://".length), { force: true });
    }
  });
});
