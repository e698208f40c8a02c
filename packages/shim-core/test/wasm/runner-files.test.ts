import { spawn } from "node:child_process";
import { once } from "node:events";
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  writeFileSync,
  mkdirSync,
  readdirSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openReadOnly } from "../../src/wasm/read-only-fds.ts";
import { launchLayout, openPrepared, withRunnerFds } from "../../src/wasm/runner-files.ts";

const tmp = mkdtempSync(join(tmpdir(), "runner-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The host's mounts of the paths under test (other tests on the machine mount and unmount their own meanwhile). */
const mountInfo = () =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.includes(tmp) || line.includes("wasm-shim-ro-"));
const isRoot = process.getuid?.() === 0;

// Detached mounts where the kernel has them (5.12), a throwaway namespace otherwise: both must hold.
describe.skipIf(!isRoot).each(["detached", "namespace"] as const)("openReadOnly (%s)", (way) => {
  it("opens files and directories that can be read but not reopened for writing, naming no host path", async () => {
    const file = join(tmp, `lib-${way}.so`);
    writeFileSync(file, "library bytes");
    const dir = join(tmp, `assets-${way}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "a.wasm"), "asset");
    const before = mountInfo();
    const [fileFd, dirFd] = await openReadOnly([file, dir], { way });
    try {
      // The host's mount table is as it was: the read-only mounts are detached, or lived in a
      // namespace now gone.
      expect(mountInfo()).toEqual(before);
      expect(readdirSync(tmp).filter((n) => n.startsWith("wasm-shim-ro-"))).toEqual([]);
      const buf = Buffer.alloc(13);
      readSync(fileFd!, buf, 0, 13, 0);
      expect(buf.toString()).toBe("library bytes");
      expect(readlinkSync(`/proc/self/fd/${fileFd}`)).toBe("/");
      // What a process in a container could try through /proc/<pid>/fd/N: read yes, write never.
      expect(readFileSync(`/proc/self/fd/${fileFd}`, "utf8")).toBe("library bytes");
      expect(() => openSync(`/proc/self/fd/${fileFd}`, "r+")).toThrow(/EROFS/);
      expect(readFileSync(`/proc/self/fd/${dirFd}/a.wasm`, "utf8")).toBe("asset");
      expect(() => writeFileSync(`/proc/self/fd/${dirFd}/planted`, "x")).toThrow(/EROFS/);
      expect(() => openSync(`/proc/self/fd/${dirFd}/a.wasm`, "r+")).toThrow(/EROFS/);
      expect(fstatSync(dirFd!).isDirectory()).toBe(true);
    } finally {
      closeSync(fileFd!);
      closeSync(dirFd!);
    }
  });

  it("fails with the path in the error when a file is missing", async () => {
    await expect(openReadOnly([join(tmp, "missing")], { way })).rejects.toThrow(/missing/);
  });
});

describe.skipIf(!isRoot)("openPrepared", () => {
  it("opens a prepared file read-only through one view of its cache root, also for entries written later", async () => {
    const cache = join(tmp, "cache");
    mkdirSync(join(cache, "entry1"), { recursive: true });
    writeFileSync(join(cache, "entry1", "component.mjs"), "first");
    const first = await openPrepared({ "component.mjs": join(cache, "entry1", "component.mjs") });
    mkdirSync(join(cache, "entry2"));
    writeFileSync(join(cache, "entry2", "core.wasm"), "second");
    const second = await openPrepared({ "core.wasm": join(cache, "entry2", "core.wasm") });
    const fds = [first["component.mjs"]!, second["core.wasm"]!];
    expect(fds.map((fd) => readFileSync(fd, "utf8"))).toEqual(["first", "second"]);
    // What a container handed these could try through /proc/<pid>/fd: the shared cache stays as it is.
    for (const fd of fds) expect(() => openSync(`/proc/self/fd/${fd}`, "r+")).toThrow(/EROFS/);
    expect(readlinkSync(`/proc/self/fd/${fds[0]}`)).not.toContain(tmp);
    fds.forEach((fd) => closeSync(fd));
    await expect(openPrepared({ x: join(cache, "entry1", "missing") })).rejects.toThrow(/ENOENT/);
  });
});

describe("withRunnerFds", () => {
  it("hands the runner's fds to the child at 3… in layout order and closes the launch's own", async () => {
    const names = ["loader", "binary", "lib1", "lib2", "assets", "component.mjs", "core.wasm"];
    for (const n of names) writeFileSync(join(tmp, `fd-${n}`), n);
    const [loader, binary, lib1, lib2, assets, mjs, core] = names.map((n) =>
      openSync(join(tmp, `fd-${n}`), "r"),
    ) as number[] as [number, number, number, number, number, number, number];
    const launch = {
      fds: { loader, binary, libs: [lib1, lib2], assets },
      files: { "component.mjs": mjs, "core.wasm": core },
    };
    expect(launchLayout(launch)).toMatchObject({ count: 7, files: { "component.mjs": 8, "core.wasm": 9 } });
    let preserved = -1;
    // As runc would pass them: the child reads fds 3..9 by path.
    const child = withRunnerFds(launch, (stdio, n) => {
      preserved = n;
      const script =
        "const fs = require('fs'); console.log([3,4,5,6,7,8,9].map((fd) => fs.readFileSync('/proc/self/fd/' + fd, 'utf8')).join(' '))";
      return spawn(process.execPath, ["-e", script], { stdio });
    })(["ignore", "pipe", "inherit"]);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(preserved).toBe(7);
    expect(out.trim()).toBe(names.join(" "));
    // The prepared files' fds were this launch's alone: closed; the daemon's stay open.
    expect(launch.files).toBeUndefined();
    expect(() => fstatSync(mjs)).toThrow(/EBADF/);
    expect(fstatSync(loader).isFile()).toBe(true);
    [loader, binary, lib1, lib2, assets].forEach((fd) => closeSync(fd));
  });
});
