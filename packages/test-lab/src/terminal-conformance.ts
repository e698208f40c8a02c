import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "./containerd.ts";
import { systemPath } from "./ctr.ts";
import { eventually } from "./eventually.ts";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { probeRef, writeTtyProbeImage } from "./tty-probe-image.ts";

const ptyDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith("wasm-shim-pty-"));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** ctr on a terminal of its own (util-linux's `script`), as a user at a shell runs `ctr run -t`. */
class CtrOnPty {
  readonly child: ChildProcess;
  out = "";
  static started = new Set<CtrOnPty>();
  constructor(ctd: Containerd, args: string[]) {
    CtrOnPty.started.add(this);
    const ctr = ["ctr", "--address", ctd.socket, "--connect-timeout", "5s", "--namespace", ctd.namespace, ...args]
      .map(quote)
      .join(" ");
    this.child = spawn("script", ["-qfec", ctr, "/dev/null"], { stdio: "pipe", env: { PATH: systemPath } });
    this.child.stdout?.on("data", (d: Buffer) => (this.out += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.out += d.toString()));
  }
  /** Waits for `text` ("\n" for a line end: ctr's own terminal may add a second \r to the container's \r\n). */
  async waitFor(text: string, ms = 20_000): Promise<void> {
    await eventually(async () => expect(this.out.replace(/\r+\n/g, "\n")).toContain(text), ms);
  }
  /** What a user types: ctr's terminal is raw, so Enter is a carriage return the container's pty turns into a newline. */
  type(line: string): void {
    this.child.stdin?.write(`${line}\r`);
  }
  async exit(): Promise<number> {
    const [code] =
      this.child.exitCode !== null ? [this.child.exitCode] : ((await once(this.child, "exit")) as [number | null]);
    CtrOnPty.started.delete(this);
    return code ?? -1;
  }
}

/**
 * Terminals end to end: `ctr run -t` and `ctr task exec -t` on a terminal of their own, for a
 * native busybox and for a Wasm guest (a C program that reports isatty on fds 0–2 and echoes a
 * line). Each engine package calls this from its own test file.
 */
export function terminalConformance(opts: ConformanceOptions): void {
  const runtime = `io.containerd.${opts.engine}.v1`;
  let ctd: Containerd;
  let images: TestImages;
  let imageDir: string;
  let seq = 0;
  const id = (name: string) => `${opts.engine}-tty-${name}-${process.pid}-${++seq}`;

  describe(`${runtime}: terminals through containerd and ctr`, () => {
    beforeAll(async () => {
      imageDir = mkdtempSync(join(tmpdir(), "images-"));
      images = await buildTestImages(imageDir);
      ctd = await Containerd.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}) });
      await ctd.importImage(images.busybox.tarball);
      const probe = await writeTtyProbeImage(imageDir);
      await ctd.importImage(probe);
    });

    afterAll(async () => {
      await ctd?.stop();
      rmSync(imageDir, { recursive: true, force: true });
    });

    let ptysBefore: string[] = [];
    const containers = new Set<string>();
    afterEach(async () => {
      // A failed case must not leave its ctr or containers to the next one.
      for (const c of CtrOnPty.started) c.child.kill("SIGKILL");
      CtrOnPty.started.clear();
      for (const cid of containers) await ctd.removeContainer(cid);
      containers.clear();
      await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
      expect(await ctd.ctr(["container", "ls", "-q"])).toMatchObject({ code: 0, stdout: "" });
      // The console socket and its directory go as soon as runc has sent the master.
      expect(ptyDirs().filter((d) => !ptysBefore.includes(d))).toEqual([]);
      ptysBefore = ptyDirs();
    });

    it("ctr run -t: a Wasm guest sees a terminal on fds 0-2 and reads what is typed", async () => {
      ptysBefore = ptyDirs();
      const cid = id("wasm-run");
      containers.add(cid);
      const ctr = new CtrOnPty(ctd, ["run", "-t", "--rm", "--runtime", runtime, probeRef, cid]);
      await ctr.waitFor("isatty 1 1 1\n");
      ctr.type("hello");
      await ctr.waitFor("read hello\n");
      expect(await ctr.exit()).toBe(7);
    });

    it("ctr run -t: a native busybox gets the pty as its controlling terminal", async () => {
      ptysBefore = ptyDirs();
      const cid = id("native-run");
      containers.add(cid);
      const ctr = new CtrOnPty(ctd, [
        "run",
        "-t",
        "--rm",
        "--runtime",
        runtime,
        images.busybox.ref,
        cid,
        "sh",
        "-c",
        "tty; read x; echo got $x; exit 5",
      ]);
      await ctr.waitFor("/dev/pts/0\n");
      ctr.type("typed");
      await ctr.waitFor("got typed\n");
      expect(await ctr.exit()).toBe(5);
    });

    it("ctr task exec -t: into a Wasm container (a Wasm command) and into a native one", async () => {
      ptysBefore = ptyDirs();
      const wasm = id("wasm-exec");
      const native = id("native-exec");
      containers.add(wasm).add(native);
      expect(
        await ctd.ctr(["run", "-d", "--runtime", runtime, probeRef, wasm, "/app/sleep.wasm", "100000000"]),
      ).toMatchObject({ code: 0 });
      expect(
        await ctd.ctr(["run", "-d", "--runtime", runtime, images.busybox.ref, native, "sleep", "100000"]),
      ).toMatchObject({ code: 0 });
      const intoWasm = new CtrOnPty(ctd, ["task", "exec", "-t", "--exec-id", "e1", wasm, "/app/tty-probe.wasm"]);
      await intoWasm.waitFor("isatty 1 1 1\n");
      intoWasm.type("from exec");
      await intoWasm.waitFor("read from exec\n");
      expect(await intoWasm.exit()).toBe(7);
      const intoNative = new CtrOnPty(ctd, [
        "task",
        "exec",
        "-t",
        "--exec-id",
        "e2",
        native,
        "sh",
        "-c",
        "tty; read x; echo got $x; exit 4",
      ]);
      await intoNative.waitFor("/dev/pts/");
      intoNative.type("typed");
      await intoNative.waitFor("got typed\n");
      expect(await intoNative.exit()).toBe(4);
    });
  });
}
