/**
 * Hostile specs the way a user sends them: ctr and a private containerd, the node shim from
 * dist/bin. Create refuses each with a message that reaches the user through containerd and
 * names the problem, and leaves nothing behind. (A config.json that is not JSON, or not UTF-8,
 * cannot be sent through containerd, which writes the spec itself: hostile-create.test.ts sends
 * those to the handlers.)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, writeOciImage, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd, type CtrResult } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";

const shimDir = fileURLToPath(new URL("../../../../dist/bin", import.meta.url));
const runtime = "io.containerd.node.v1";
const noArgsRef = "localhost/no-args:test";
let ctd: Containerd;
let images: TestImages;
let dir: string;
let seq = 0;

const ctr = (args: string[]): Promise<CtrResult> => ctd.ctr(args, { timeoutMs: 60_000 });
const run = (extra: string[], image: string, args: string[] = []) =>
  ctr(["run", "--rm", "--runtime", runtime, ...extra, image, `hostile-${process.pid}-${++seq}`, ...args]);

/** ctr failed at Create with our message, as containerd passes it on. */
function refused(res: CtrResult, message: RegExp): void {
  expect(res.code, res.stdout).not.toBe(0);
  expect(res.stderr).toMatch(/failed to create shim task/);
  expect(res.stderr).toMatch(message);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hostile-ctr-"));
  images = await buildTestImages(dir);
  ctd = await Containerd.start({ shimDir });
  await ctd.importImage(images.busybox.tarball);
  await ctd.importImage(images.fixtures.tarball);
  const noArgs = join(dir, "no-args.tar");
  await writeOciImage(noArgs, {
    ref: noArgsRef,
    files: [{ path: "/bin/busybox", source: "/bin/busybox", mode: 0o755 }],
  });
  await ctd.importImage(noArgs);
}, 300_000);

afterAll(async () => {
  await ctd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// No shim, container process, mount, runc state or cgroup, and no container record.
afterEach(async () => {
  await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  expect(await ctr(["container", "ls", "-q"])).toMatchObject({ code: 0, stdout: "" });
});

describe("Create through containerd refuses hostile specs", () => {
  it("a root filesystem that does not exist", async () => {
    refused(
      await run(["--rootfs"], "/nonexistent/rootfs", ["/bin/busybox", "true"]),
      /the root filesystem \/nonexistent\/rootfs does not exist/,
    );
  });

  it("an env larger than execve takes", async () => {
    const envFile = join(dir, "huge.env");
    // ctr reads lines of at most 64 KiB; 40 of 60 KB pass that and exceed execve's 2 MiB.
    writeFileSync(envFile, Array.from({ length: 40 }, (_, i) => `HUGE${i}=${"x".repeat(60_000)}`).join("\n"));
    refused(
      await run(["--env-file", envFile], images.busybox.ref, ["/bin/busybox", "true"]),
      /process.args and .env take \d+ bytes; execve allows at most 2097152/,
    );
  });

  it("an argument longer than the kernel passes, in a whole spec given to ctr", async () => {
    const spec = join(dir, "huge-arg.json");
    writeFileSync(
      spec,
      JSON.stringify({
        ociVersion: "1.0.2",
        process: { args: ["/bin/busybox", "echo", "x".repeat(200_000)], cwd: "/", env: ["PATH=/bin"] },
        root: { path: dir },
        linux: {},
      }),
    );
    refused(
      await ctr(["run", "--rm", "--runtime", runtime, "--config", spec, `hostile-${process.pid}-${++seq}`]),
      /process.args\[2\] is 200000 bytes long/,
    );
  });

  it("an absurd mount type", async () => {
    refused(
      await run(["--mount", "type=frobfs,src=none,dst=/x,options=rw"], images.fixtures.ref),
      /this kernel has no filesystem type "frobfs"/,
    );
  });

  it("an image that sets no entrypoint or command", async () => {
    refused(await run([], noArgsRef), /process.args is empty: the image sets no entrypoint or command/);
  });

  it("a relative working directory", async () => {
    refused(
      await run(["--cwd", "relative/dir"], images.fixtures.ref),
      /process.cwd must be an absolute path, not "relative\/dir"/,
    );
  });

  it("but runs a Wasm guest and a native process whose working directory runc has to create", async () => {
    expect(await run(["--cwd", "/made/by/runc"], images.fixtures.ref)).toMatchObject({
      code: 0,
      stdout: "hello from wasm\n",
    });
    expect(await run(["--cwd", "/made/by/runc"], images.busybox.ref, ["/bin/busybox", "pwd"])).toMatchObject({
      code: 0,
      stdout: "/made/by/runc\n",
    });
  });
});
