import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, writeOciImage, type TestImages } from "@wasm-shims/test-fixtures";
import { eventually } from "./eventually.ts";
import { binaryContract } from "./binary-contract.ts";
import { runnerCases } from "./conformance-runner.ts";
import { signalCases, type CaseContext } from "./conformance-signals.ts";
import { Containerd, type CtrResult } from "./containerd.ts";

/** What engineConformance and criConformance need to know about an engine. */
export interface ConformanceOptions {
  /** The X of io.containerd.X.v1 (and of the RuntimeClass handler wasm-X); containerd-shim-X-v1 must be built. */
  engine: string;
  /** Where the shim binaries are; default: the repository's dist/bin. */
  binaryDir?: string;
  /** Extra environment for containerd, which passes it on to the shims (e.g. a private cache dir). */
  env?: Record<string, string>;
  /**
   * False when the engine's guests cannot read a FIFO (they get an error instead of blocking), so
   * no guest of it can be stopped while blocked on one: those cases are left out. Say why in the
   * engine's README.
   */
  readsFifos?: boolean;
  /** The argv[0] a guest sees for the path the image gives, if the engine cannot pass it unchanged. */
  argv0?: (given: string) => string;
}

const fakeWasmRef = "localhost/native-claiming-wasm:test";

/** The folder holding the engine's shim binary. */
export function shimBinaryDir(opts: ConformanceOptions): string {
  return opts.binaryDir ?? fileURLToPath(new URL("../../../dist/bin", import.meta.url));
}

/**
 * The cases every engine must pass, end to end: a private containerd, real runc, ctr as the client.
 * Each engine package calls this from its own test file.
 */
export function engineConformance(opts: ConformanceOptions): void {
  const runtime = `io.containerd.${opts.engine}.v1`;
  let ctd: Containerd;
  let images: TestImages;
  let imageDir: string;
  let seq = 0;
  const id = (name: string) => `${opts.engine}-${name}-${process.pid}-${++seq}`;
  const ctr = (args: string[], input?: string): Promise<CtrResult> =>
    ctd.ctr(args, input === undefined ? { timeoutMs: 30_000 } : { input, timeoutMs: 30_000 });
  const run = (name: string, args: string[], extra: string[] = [], input?: string) =>
    ctr(["run", "--rm", "--runtime", runtime, ...extra, images.fixtures.ref, id(name), ...args], input);
  // `ctr task ls` columns: TASK PID STATUS.
  const taskRow = async (cid: string) =>
    (await ctr(["task", "ls"])).stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .find((cols) => cols[0] === cid);
  const taskStatus = async (cid: string) => (await taskRow(cid))?.[2];
  const waitStatus = (cid: string, status: string) =>
    eventually(async () => expect(await taskStatus(cid)).toBe(status));
  const runDetached = async (name: string, args: string[], image = images.fixtures.ref) => {
    const cid = id(name);
    const res = await ctr(["run", "-d", "--runtime", runtime, image, cid, ...args]);
    expect(res.stderr).toBe("");
    await waitStatus(cid, "RUNNING");
    return cid;
  };
  const taskPid = async (cid: string) => {
    const pid = Number((await taskRow(cid))?.[1]);
    expect(pid).toBeGreaterThan(0);
    return pid;
  };
  const remove = async (cid: string) => {
    await ctr(["task", "kill", "-s", "SIGKILL", cid]);
    await eventually(async () => expect(["STOPPED", undefined]).toContain(await taskStatus(cid)));
    await ctr(["task", "rm", cid]);
    expect((await ctr(["container", "rm", cid])).code).toBe(0);
  };

  binaryContract(join(shimBinaryDir(opts), `containerd-shim-${opts.engine}-v1`), opts.engine);

  describe(`${runtime} through containerd and ctr`, () => {
    beforeAll(async () => {
      imageDir = mkdtempSync(join(tmpdir(), "images-"));
      images = await buildTestImages(imageDir);
      ctd = await Containerd.start({ shimDir: shimBinaryDir(opts), ...(opts.env ? { env: opts.env } : {}) });
      await ctd.importImage(images.fixtures.tarball);
      await ctd.importImage(images.busybox.tarball);
      // A native program in an image that claims to be Wasm must not run natively.
      const fake = join(imageDir, "fake-wasm.tar");
      await writeOciImage(fake, {
        ref: fakeWasmRef,
        files: [{ path: "/app", source: "/bin/busybox", mode: 0o755 }],
        entrypoint: ["/app"],
        os: "wasip1",
        architecture: "wasm",
      });
      await ctd.importImage(fake);
    });

    afterAll(async () => {
      await ctd?.stop();
      rmSync(imageDir, { recursive: true, force: true });
    });

    // Nothing of a finished test may survive it: no shim, container process, mount or cgroup.
    afterEach(async () => {
      await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
      expect(await ctr(["container", "ls", "-q"])).toMatchObject({ code: 0, stdout: "" });
    });

    it("shows the guest's stdout and stderr and exits with its status", async () => {
      const hello = await run("hello", []);
      expect(hello).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
      const exit = await run("exit", ["/exit-code.wasm"]);
      expect(exit.code).toBe(42);
      expect(exit.stderr).toContain("exiting with 42");
      expect((await run("exit7", ["/exit-code.wasm", "7"])).code).toBe(7);
    });

    it("passes args (argv[0] as the image gives it) and env to the guest", async () => {
      const res = await run("args", ["/args-env.wasm", "one", "two words"], ["--env", "FOO=bar baz"]);
      expect(res.code).toBe(0);
      expect(res.stdout.split("\n")).toEqual(
        expect.arrayContaining([
          `arg:${(opts.argv0 ?? ((p: string) => p))("/args-env.wasm")}`,
          "arg:one",
          "arg:two words",
          "env:FOO=bar baz",
          "env:GREETING=hello",
        ]),
      );
      expect(res.stderr).toBe("to-stderr\n");
    });

    it("writes into a bind mount and the file appears on the host", async () => {
      const host = mkdtempSync(join(tmpdir(), "mount-"));
      const res = await run(
        "mount",
        ["/write-file.wasm", "/data/out.txt", "from the guest\n"],
        ["--mount", `type=bind,src=${host},dst=/data,options=rbind:rw`],
      );
      expect(res).toMatchObject({ code: 0, stdout: "wrote /data/out.txt\n" });
      expect(readFileSync(join(host, "out.txt"), "utf8")).toBe("from the guest\n");
      rmSync(host, { recursive: true });
    });

    // ctr 1.6 never closes the stdin FIFO when its own stdin ends (plain runc behaves the same), so
    // the guest's stdin is checked while it runs rather than to EOF.
    it("feeds stdin to the guest as it arrives", async () => {
      const cid = id("cat");
      const child = ctd.ctrSpawn(["run", "--rm", "--runtime", runtime, images.fixtures.ref, cid, "/cat-stdin.wasm"]);
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      child.stdin?.write("ping\n");
      // The first line waits for the container to start, which a loaded machine makes slow.
      await eventually(async () => expect(out).toBe("ping\n"), 20_000);
      child.stdin?.write("pong\n");
      await eventually(async () => expect(out).toBe("ping\npong\n"));
      await ctr(["task", "kill", "-s", "SIGKILL", cid]);
      await once(child, "exit");
    });

    it("sleeps on poll_oneoff", async () => {
      expect(await run("sleep", ["/sleep.wasm", "50"])).toMatchObject({ code: 0, stdout: "slept\n" });
    });

    it("reports a trap as a failure with status 134", async () => {
      const res = await run("trap", ["/trap.wasm"]);
      expect(res.code).toBe(134);
      expect(res.stdout).toBe("about to trap\n");
      expect(res.stderr).toMatch(/wasm trap/);
    });

    const cases: CaseContext = {
      runtime,
      ctd: () => ctd,
      image: () => images.fixtures.ref,
      id,
      ctr,
      taskPid,
      readsFifos: opts.readsFifos ?? true,
    };
    signalCases(cases);
    runnerCases(cases);

    it("lists, inspects, measures, pauses and resumes a running task", async () => {
      const cid = await runDetached("busy", ["/loop.wasm"]);
      const pid = await taskPid(cid);
      expect((await ctr(["task", "ps", cid])).stdout).toContain(String(pid));
      const cpu = async () => {
        const text = (await ctr(["task", "metrics", "--format", "json", cid])).stdout;
        const m = JSON.parse(text) as {
          cpu?: { usage?: { total?: number }; usage_usec?: number };
          CPU?: { usage_usec?: number };
        };
        return Number(m.cpu?.usage?.total ?? m.cpu?.usage_usec ?? m.CPU?.usage_usec ?? NaN);
      };
      expect(await cpu()).toBeGreaterThan(0);
      expect((await ctr(["task", "pause", cid])).code).toBe(0);
      expect(await taskStatus(cid)).toBe("PAUSED");
      const frozen = await cpu();
      await sleep(300);
      expect(await cpu()).toBe(frozen);
      expect((await ctr(["task", "resume", cid])).code).toBe(0);
      expect(await taskStatus(cid)).toBe("RUNNING");
      await eventually(async () => expect(await cpu()).toBeGreaterThan(frozen));
      await remove(cid);
    });

    it("keeps a task running across a containerd restart, then lists, kills and deletes it", async () => {
      const cid = await runDetached("restart", ["/sleep.wasm", "100000000"]);
      await ctd.restart();
      await waitStatus(cid, "RUNNING");
      await remove(cid);
    });

    it("rejects bad input with a clear error and leaves nothing behind", async () => {
      const missing = await run("missing", ["/nope.wasm"]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/entrypoint \/nope\.wasm does not exist/);
      // The fixtures image's config says architecture wasm, which the shim reads from containerd.
      const text = await run("text", ["/not-wasm.txt"]);
      expect(text.code).not.toBe(0);
      expect(text.stderr).toMatch(
        /\/not-wasm\.txt is not a WebAssembly module, though the image's architecture is wasm/,
      );
      const native = await ctr(["run", "--rm", "--runtime", runtime, fakeWasmRef, id("fake")]);
      expect(native.code).not.toBe(0);
      expect(native.stderr).toMatch(
        /entrypoint \/app is not a WebAssembly module, though the image's architecture is wasm/,
      );
      const invalid = await run("invalid", ["/invalid.wasm"]);
      expect(invalid.code).not.toBe(0);
      expect(invalid.stderr).toMatch(/\/invalid\.wasm is not a valid WebAssembly module/);
    });

    it("refuses at Create a module importing what the engine does not provide, naming the import", async () => {
      const cid = id("bad-import");
      const res = await ctr(["run", "--rm", "--runtime", runtime, images.fixtures.ref, cid, "/bad-import.wasm"]);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(
        /\/bad-import\.wasm imports what the \w+ engine does not provide: [^\n]*\benv\.host_thing\b/,
      );
      // Refused before a task existed: nothing ran.
      expect(res.stdout).toBe("");
      expect((await ctr(["task", "ls"])).stdout).not.toContain(cid);
    });

    it("survives malformed and oversized frames on its socket", async () => {
      const cid = await runDetached("frames", ["/sleep.wasm", "100000000"]);
      const bundle = join(ctd.dir, "state/io.containerd.runtime.v2.task", ctd.namespace, cid);
      const address = readFileSync(join(bundle, "address"), "utf8").replace(/^unix:\/\//, "");
      const abuse = [
        Buffer.from("this is not ttrpc at all, just bytes\n"),
        Buffer.from([0x00, 0x50, 0x00, 0x00, 0, 0, 0, 1, 1, 0]), // declares a 5 MiB frame
        Buffer.concat([Buffer.from([0, 0, 0, 4, 0, 0, 0, 3, 1, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff])]), // undecodable request
        Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 1, 0]), // even stream id
      ];
      for (const bytes of abuse) {
        const sock = connect(address);
        sock.on("error", () => {});
        await once(sock, "connect");
        sock.write(bytes);
        await sleep(50);
        sock.destroy();
      }
      expect(await taskStatus(cid)).toBe("RUNNING");
      await remove(cid);
    });

    it("runs a native container (busybox) through the same shim", async () => {
      const res = await ctr([
        "run",
        "--rm",
        "--runtime",
        runtime,
        images.busybox.ref,
        id("native"),
        "/bin/busybox",
        "sh",
        "-c",
        "echo native-hi; exit 3",
      ]);
      expect(res).toMatchObject({ code: 3, stdout: "native-hi\n" });
    });
  });
}
