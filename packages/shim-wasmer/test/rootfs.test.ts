import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Containerd, eventually } from "@wasm-shims/test-lab";
import { writeOciImage } from "@wasm-shims/test-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The guest's `/` is the container's root itself, end to end: a private containerd, real runc,
// ctr. One guest changes the top of `/`; a second guest exec'd into the same container sees the
// changes, so they reached the container's file system, not a copy in the first guest's memory.

const runtime = "io.containerd.wasmer.v1";
const ref = "localhost/wasmer-rootfs:test";
const shimDir = fileURLToPath(new URL("../../../dist/bin", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "wasmer-rootfs-"));
const volume = mkdtempSync(join(tmpdir(), "wasmer-vol-"));
let ctd: Containerd;
const ctr = (args: string[]) => ctd.ctr(args, { timeoutMs: 30_000 });
const ops = (...args: string[]) => ["/rootfs-ops.wasm", ...args];

const CHANGED = [
  "/top.txt No such file or directory",
  "/renamed.txt file",
  "/topdir No such file or directory",
  "/movedir dir",
  "/emptydir No such file or directory",
  "/gone.txt No such file or directory",
  "/link link",
  "/proc No such file or directory",
  "/sys No such file or directory",
  "/dev/null file",
  "/renamed.txt: one",
  "two",
  "/movedir/inner.txt: inner",
  "/image.txt: from the image",
  "appended by a guest",
  "/link: one",
  "two",
  "/vol/from-host.txt: from the host",
  "",
];

describe("the wasmer guest's / is the container's root", () => {
  beforeAll(async () => {
    const wasm = join(dir, "rootfs-ops.wasm");
    execFileSync("clang", [
      "--target=wasm32-wasi",
      "-O2",
      "-Wall",
      "-Werror",
      "-o",
      wasm,
      fileURLToPath(new URL("programs/rootfs-ops.c", import.meta.url)),
    ]);
    const tarball = join(dir, "image.tar");
    await writeOciImage(tarball, {
      ref,
      files: [
        { path: "/rootfs-ops.wasm", source: wasm, mode: 0o755 },
        { path: "/image.txt", content: "from the image\n" },
      ],
      dirs: ["/vol"],
      entrypoint: ["/rootfs-ops.wasm"],
      os: "wasip1",
      architecture: "wasm",
    });
    writeFileSync(join(volume, "from-host.txt"), "from the host\n");
    ctd = await Containerd.start({ shimDir });
    await ctd.importImage(tarball);
  });

  afterAll(async () => {
    await ctd?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(volume, { recursive: true, force: true });
  });

  it("creates, appends, renames and removes at the top of /, live for the next guest, and in a volume", async () => {
    const id = `wasmer-rootfs-${process.pid}`;
    const mount = ["--mount", `type=bind,src=${volume},dst=/vol,options=rbind:rw`];
    expect(await ctr(["run", "-d", "--runtime", runtime, ...mount, ref, id, ...ops("sleep", "600")])).toMatchObject({
      code: 0,
      stderr: "",
    });
    await eventually(async () =>
      expect((await ctr(["task", "ls"])).stdout).toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`)),
    );
    try {
      expect(await ctr(["task", "exec", "--exec-id", "change", id, ...ops("change")])).toMatchObject({
        code: 0,
        stdout: "",
        stderr: "",
      });
      const shown = await ctr(["task", "exec", "--exec-id", "show", id, ...ops("show")]);
      expect(shown).toMatchObject({ code: 0, stderr: "" });
      expect(shown.stdout.split("\n")).toEqual(CHANGED);
      expect(readFileSync(join(volume, "from-guest.txt"), "utf8")).toBe("into the volume\n");
    } finally {
      await ctr(["task", "kill", "-s", "SIGKILL", id]);
      await eventually(async () =>
        expect((await ctr(["task", "ls"])).stdout).not.toMatch(new RegExp(`${id}\\s+\\d+\\s+RUNNING`)),
      );
      await ctr(["task", "rm", id]);
      await ctr(["container", "rm", id]);
    }
    // Another container of the same image starts from the image, untouched.
    const fresh = await ctr(["run", "--rm", "--runtime", runtime, ref, `${id}-fresh`, ...ops("show")]);
    expect(fresh.stdout).toContain("/renamed.txt No such file or directory\n");
    expect(fresh.stdout).toContain("/image.txt: from the image\n/link:");
    await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
  });
});
