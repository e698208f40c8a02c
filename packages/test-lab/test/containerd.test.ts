import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeOciImage } from "@wasm-shims/test-fixtures";
import { Containerd } from "../src/containerd.ts";
import { eventually } from "../src/eventually.ts";
import { shimProcesses } from "../src/leftovers.ts";
import { cgroupMounts, isAlive, isUnder, listProcs, openFiles, readMounts, waitGone } from "../src/procfs.ts";

const repoRoot = resolve(import.meta.dirname, "../../..");
const timings: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

function shimPids(ctd: Containerd, id: string): number[] {
  return shimProcesses(ctd.socket)
    .filter((p) => p.id === id)
    .map((p) => p.pid);
}

async function taskRow(ctd: Containerd, id: string, namespace = ctd.namespace): Promise<string[]> {
  const r = await ctd.ctr(["tasks", "ls"], { namespace });
  return (
    r.stdout
      .split("\n")
      .find((l) => l.startsWith(`${id} `))
      ?.trim()
      .split(/\s+/) ?? []
  );
}

async function removeTask(ctd: Containerd, id: string, namespace = ctd.namespace): Promise<void> {
  expect((await ctd.ctr(["tasks", "rm", "-f", id], { namespace })).code).toBe(0);
  expect((await ctd.ctr(["containers", "rm", id], { namespace })).code).toBe(0);
}

function rmdirQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Another instance on the host started using it meanwhile.
  }
}

describe("Containerd harness", () => {
  let work: string;
  const image = { ref: "localhost/busybox:harness", tarball: "" };
  let ctd: Containerd;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "ctd-test-"));
    // Only the host's static busybox: runc is the runtime here, no Wasm fixtures are needed.
    image.tarball = join(work, "busybox.tar");
    await writeOciImage(image.tarball, {
      ref: image.ref,
      files: [{ path: "/bin/busybox", source: "/bin/busybox", mode: 0o755 }],
      symlinks: [{ path: "/bin/sh", target: "busybox" }],
      dirs: ["/tmp"],
      cmd: ["/bin/sh"],
    });
    ctd = await timed("start", () => Containerd.start());
    await timed("import", () => ctd.importImage(image.tarball));
  });

  afterAll(async () => {
    await ctd?.stop();
    rmSync(work, { recursive: true, force: true });
    console.log("harness timings (ms):", JSON.stringify(timings));
  });

  it("runs a private daemon on its own socket and config", async () => {
    expect(isUnder(ctd.socket, ctd.dir)).toBe(true);
    expect(ctd.ttrpcSocket).toBe(`${ctd.socket}.ttrpc`);
    const config = readFileSync(join(ctd.dir, "config.toml"), "utf8");
    expect(config).toContain(`root = "${ctd.dir}/root"`);
    expect(config).toContain('"io.containerd.grpc.v1.cri"');
    const plugins = await ctd.ctr(["plugins", "ls"]);
    expect(plugins.stdout).not.toMatch(/io\.containerd\.grpc\.v1\s+cri/);
    expect(plugins.stdout).toMatch(/overlayfs\s+linux\/amd64\s+ok/);
    expect(ctd.logText()).toContain("containerd successfully booted");
  });

  it("refuses a dir whose socket path would not fit in sun_path, before creating anything", async () => {
    const dir = join(work, "x".repeat(100));
    await expect(Containerd.start({ dir })).rejects.toThrow(/too long/);
    expect(existsSync(dir)).toBe(false);
  });

  it("runs busybox echo through runc and leaves nothing behind", async () => {
    const r = await timed("ctr run --rm", () =>
      ctd.ctr(["run", "--rm", image.ref, "echo1", "/bin/busybox", "echo", "hi"]),
    );
    expect(r).toMatchObject({ code: 0, stdout: "hi\n" });
    expect(await ctd.leftovers()).toEqual([]);
  });

  it("keeps a detached task running across restart()", async () => {
    expect((await ctd.ctr(["run", "-d", image.ref, "sleeper", "/bin/busybox", "sleep", "1000"])).code).toBe(0);
    const before = await taskRow(ctd, "sleeper");
    expect(before[2]).toBe("RUNNING");
    const shims = shimPids(ctd, "sleeper");
    expect(shims).toHaveLength(1);
    const daemon = ctd.pid;

    await timed("restart", () => ctd.restart());
    expect(ctd.pid).not.toBe(daemon);
    expect(isAlive(daemon)).toBe(false);
    expect(shimPids(ctd, "sleeper")).toEqual(shims);
    expect(await taskRow(ctd, "sleeper")).toEqual(before);

    expect((await ctd.ctr(["tasks", "kill", "-s", "SIGKILL", "sleeper"])).code).toBe(0);
    await eventually(async () => expect((await taskRow(ctd, "sleeper"))[2]).toBe("STOPPED"));
    expect((await ctd.ctr(["tasks", "rm", "sleeper"])).code).toBe(0);
    expect((await ctd.ctr(["containers", "rm", "sleeper"])).code).toBe(0);
    expect(await ctd.leftovers()).toEqual([]);
  });

  it("reports a task left running, and only to the instance that owns it", async () => {
    const other = await Containerd.start();
    // runc leaves the namespace's parent dirs behind; remove them afterwards only if we made them.
    const parents = [...cgroupMounts().map((m) => join(m, "default")), "/run/containerd/runc/default"].filter(
      (p) => !existsSync(p),
    );
    try {
      // "default" is a namespace every instance shares, including its runc cgroups.
      const id = `shared-${process.pid}`;
      await ctd.importImage(image.tarball, "default");
      // So that `other` has the shared namespace in its footprint, yet must not claim ctd's container there.
      await other.importImage(image.tarball, "default");
      expect(
        (await ctd.ctr(["run", "-d", image.ref, id, "/bin/busybox", "sleep", "1000"], { namespace: "default" })).code,
      ).toBe(0);
      const found = (await ctd.leftovers()).join("\n");
      for (const kind of [
        "task default/",
        "container default/",
        "shim pid",
        "shim child",
        "mount ",
        "runc container",
        `cgroup /default/${id} (processes`,
      ]) {
        expect(found).toContain(kind);
      }
      expect(await other.leftovers()).toEqual([]);
      await removeTask(ctd, id, "default");
      expect(await ctd.leftovers()).toEqual([]);
    } finally {
      await other.stop();
      for (const p of parents) rmdirQuietly(p);
    }
  });

  it("cleans up after a daemon that crashed, including stray empty cgroups", async () => {
    const crashed = await Containerd.start();
    await crashed.importImage(image.tarball);
    expect((await crashed.ctr(["run", "-d", image.ref, "orphan", "/bin/busybox", "sleep", "1000"])).code).toBe(0);
    const stray = join(cgroupMounts()[0] ?? "/sys/fs/cgroup", crashed.namespace, "stray");
    mkdirSync(stray);
    process.kill(crashed.pid, "SIGKILL");
    await waitGone(crashed.pid, 5_000);

    const found = (await crashed.leftovers()).join("\n");
    for (const kind of [
      "shim pid",
      "shim child",
      "mount ",
      "runc container",
      `cgroup /${crashed.namespace}/orphan (processes`,
      `cgroup /${crashed.namespace}/stray (empty)`,
    ]) {
      expect(found).toContain(kind);
    }
    const fifos = shimPids(crashed, "orphan")
      .flatMap(openFiles)
      .filter((f) => f.startsWith("/run/containerd/fifo/"));
    expect(fifos).not.toEqual([]);
    await timed("stop (crashed daemon)", () => crashed.stop());
    expect(await crashed.leftovers()).toEqual([]);
    expect(existsSync(stray)).toBe(false);
    expect(fifos.filter((f) => existsSync(f))).toEqual([]);
  });

  it("stop() kills what is left running and leaves nothing on the host", async () => {
    expect((await ctd.ctr(["run", "-d", image.ref, "abandoned", "/bin/busybox", "sleep", "1000"])).code).toBe(0);
    const { dir, socket, namespace } = ctd;
    const daemon = ctd.pid;
    await timed("stop (one running task)", () => ctd.stop());

    expect(isAlive(daemon)).toBe(false);
    expect(listProcs().filter((p) => p.state !== "Z" && p.argv.includes(socket))).toEqual([]);
    expect(readMounts().filter((m) => isUnder(m.target, dir))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/run/containerd/runc/${namespace}`)).toBe(false);
    expect(cgroupMounts().filter((m) => existsSync(join(m, namespace)))).toEqual([]);
    expect(await ctd.leftovers()).toEqual([]);
  });

  it("tools/containerd.ts starts a CRI-enabled daemon that outlives it, and stops it", async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [join(repoRoot, "tools/containerd.ts"), ...args]);
    const started = await timed("cli start --cri", () =>
      cli(["start", "--cri", "--runtime", "wasm-node=io.containerd.node.v1"]),
    );
    const { dir, socket, pid } = JSON.parse(started.stdout) as { dir: string; socket: string; pid: number };
    expect(isAlive(pid)).toBe(true);
    const attached = Containerd.attach(dir);
    expect(attached.socket).toBe(socket);
    const plugins = await attached.ctr(["plugins", "ls"]);
    expect(plugins.stdout).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+linux\/amd64\s+ok/);
    const config = readFileSync(join(dir, "config.toml"), "utf8");
    expect(config).toContain('runtimes."wasm-node"]\n  runtime_type = "io.containerd.node.v1"');
    expect(config).toContain("restrict_oom_score_adj = true");

    await timed("cli stop (cri)", () => cli(["stop", "--dir", dir]));
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
