/**
 * Spare daemons (src/cli/spare.ts) through a private containerd and ctr, with copies of the shims
 * from dist/bin (one of them is replaced during the test): a daemon leaves one spare waiting, the
 * next `start` hands it the pod, and it is then the daemon `start` would have spawned. A spare goes
 * when its executable is replaced or its containerd goes, and none waits when containerd's
 * environment says so.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { isSpare, shimProcesses, type ShimProcess } from "@wasm-shims/test-lab/leftovers.ts";

const distDir = fileURLToPath(new URL("../../../../dist/bin", import.meta.url));
const binary = "containerd-shim-node-v1";
const runtime = "io.containerd.node.v1";
let dir: string;
let shimDir: string;
let images: TestImages;
let seq = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "spare-"));
  shimDir = join(dir, "bin");
  images = await buildTestImages(dir);
  copyFileSync(join(distDir, binary), join(dir, binary));
  mkdirSync(shimDir);
  copyFileSync(join(distDir, binary), join(shimDir, binary));
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A thread's nice value: field 19 of /proc/<pid>/task/<tid>/stat. */
function niceValues(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

const spares = (ctd: Containerd): ShimProcess[] => shimProcesses(ctd.socket).filter(isSpare);
const control = (p: ShimProcess): string => p.argv[p.argv.indexOf("-socket") + 1]!;

async function oneSpare(ctd: Containerd): Promise<ShimProcess> {
  let found: ShimProcess[] = [];
  await eventually(async () => {
    found = spares(ctd);
    expect(found).toHaveLength(1);
    expect(existsSync(control(found[0]!))).toBe(true);
    expect(existsSync(`${control(found[0]!)}.claim`)).toBe(false);
  });
  return found[0]!;
}

describe("spare daemons", () => {
  let ctd: Containerd;
  beforeAll(async () => {
    ctd = await Containerd.start({ shimDir, logLevel: "debug" });
    await ctd.importImage(images.fixtures.tarball);
  }, 120_000);
  afterAll(() => ctd?.stop());

  it("hands the next pod to the waiting spare, which becomes the daemon start would have spawned", async () => {
    const first = await ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, `spare-${++seq}`]);
    expect(first).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    const spare = await oneSpare(ctd);
    expect(niceValues(spare.pid)).toContain(19);
    expect(readlinkSync(`/proc/${spare.pid}/cwd`)).toBe("/");

    const id = `spare-${++seq}`;
    const run = await ctd.ctr(["run", "-d", "--runtime", runtime, images.fixtures.ref, id, "/sleep.wasm", "100000"]);
    expect(run.code, run.stderr).toBe(0);
    try {
      // The spare serves the pod under the daemon's own command line, at containerd's priority.
      const daemon = shimProcesses(ctd.socket).find((p) => p.id === id);
      expect(daemon?.pid).toBe(spare.pid);
      expect(daemon?.argv.at(-1)).toBe("serve");
      expect(niceValues(spare.pid).every((n) => n === 0)).toBe(true);
      expect(readlinkSync(`/proc/${spare.pid}/cwd`)).toMatch(new RegExp(`/${id}$`));
      expect(ctd.logText()).toMatch(new RegExp(`msg="adopted a spare daemon" id=${id} pid=${spare.pid}`));
      // Its log is the pod's: containerd's log shows it serving the pod's socket.
      const serving = ctd
        .logText()
        .split("\n")
        .find((l) => l.includes('msg="serving"') && new RegExp(`\\bpid=${spare.pid}\\b`).test(l));
      expect(serving).toMatch(new RegExp(`runtime=${runtime.replace(/\./g, "\\.")} `));
      // It booted after the first daemon extracted the native helper, so it compiled the bundle
      // from the build's code cache and a source over the executable's shared pages.
      expect(serving).toMatch(/\bbundleSource=external\b/);
      expect(serving).toMatch(/\bcodeCache=used\b/);
      // One waits again, a new one.
      const next = await oneSpare(ctd);
      expect(next.pid).not.toBe(spare.pid);
      const tasks = await ctd.ctr(["task", "ls"]);
      expect(tasks.stdout).toMatch(new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, "m"));
    } finally {
      await ctd.removeContainer(id);
    }
    await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  });

  it("refuses what start would never send, says why, and waits on for start", async () => {
    const spare = await oneSpare(ctd);
    const ask = (line: string) =>
      new Promise<string>((resolve) => {
        const sock = connect(control(spare));
        let reply = "";
        sock.setEncoding("utf8");
        sock.on("data", (d: string) => (reply += d));
        sock.on("close", () => resolve(reply.trim()));
        sock.on("connect", () => sock.write(`${line}\n`));
      });
    expect(await ask("{not json")).toBe("malformed request");
    expect(await ask(JSON.stringify({ argv: ["-id", "x", "start"], env: {}, priority: 0 }))).toBe(
      "argv is not a daemon's",
    );
    const argv = ["-id", "x", "-socket", "/tmp/x", "-bundle", "/tmp", "serve"];
    expect(await ask(JSON.stringify({ argv, env: { A: 1 }, priority: 0 }))).toBe("env is not an object of strings");
    expect(await ask(JSON.stringify({ argv, env: {}, priority: -40 }))).toBe("priority is not a nice value");
    const id = `spare-${++seq}`;
    const run = await ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, id]);
    expect(run).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect(ctd.logText()).toMatch(new RegExp(`msg="adopted a spare daemon" id=${id} pid=${spare.pid}`));
  });

  it("when pods start all at once, one spare boots for all of them, not one per daemon", async () => {
    await oneSpare(ctd);
    const count = (msg: string) => ctd.logText().split(`msg="${msg}"`).length - 1;
    const [started, adopted] = [count("started a spare daemon"), count("adopted a spare daemon")];
    const ids = Array.from({ length: 6 }, () => `spare-${++seq}`);
    const runs = await Promise.all(
      ids.map((id) => ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, id], { timeoutMs: 60_000 })),
    );
    for (const run of runs) expect(run).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    await oneSpare(ctd);
    // Not one per daemon: the claim holds from a spare's spawn until it listens. Between an
    // adoption (the control socket goes) and the adopted daemon's new claim, another daemon may
    // start one too; the loser of the bind exits. Without the claim, each of the six would start one.
    expect(count("started a spare daemon") - started).toBeLessThan(ids.length);
    expect(count("adopted a spare daemon") - adopted).toBeGreaterThanOrEqual(1);
  });

  it("a spare whose executable is replaced exits; the next start spawns a daemon of the new one", async () => {
    const old = await oneSpare(ctd);
    copyFileSync(join(dir, binary), join(shimDir, `.${binary}`));
    renameSync(join(shimDir, `.${binary}`), join(shimDir, binary));
    await eventually(async () => expect(existsSync(`/proc/${old.pid}`)).toBe(false), 10_000);
    expect(existsSync(control(old))).toBe(false);
    const run = await ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, `spare-${++seq}`]);
    expect(run).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect((await oneSpare(ctd)).pid).not.toBe(old.pid);
  });

  it("a spare whose control socket is removed exits", async () => {
    const spare = await oneSpare(ctd);
    rmSync(control(spare));
    await eventually(async () => expect(existsSync(`/proc/${spare.pid}`)).toBe(false), 10_000);
    const run = await ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, `spare-${++seq}`]);
    expect(run).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    expect((await oneSpare(ctd)).pid).not.toBe(spare.pid);
  });

  it("a spare exits with its containerd, and takes its socket with it", async () => {
    const spare = await oneSpare(ctd);
    await ctd.down();
    await eventually(async () => expect(existsSync(`/proc/${spare.pid}`)).toBe(false), 10_000);
    expect(existsSync(control(spare))).toBe(false);
    await ctd.up();
    await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  });
});

it("no spare waits when containerd's environment has WASM_SHIM_SPARE=0", async () => {
  const ctd = await Containerd.start({ shimDir, env: { WASM_SHIM_SPARE: "0" } });
  try {
    await ctd.importImage(images.fixtures.tarball);
    for (let i = 0; i < 2; i++) {
      const run = await ctd.ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, `nospare-${++seq}`]);
      expect(run).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    }
    expect(spares(ctd)).toEqual([]);
    expect(await ctd.leftovers()).toEqual([]);
  } finally {
    await ctd.stop();
  }
});
