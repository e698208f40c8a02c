import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readFiles, writeFiles } from "../../src/wasm/payload.ts";
import { openReadOnly } from "../../src/wasm/read-only-fds.ts";
import { withRunnerFds } from "../../src/wasm/runner-files.ts";

const tmp = mkdtempSync(join(tmpdir(), "runner-files-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const mountInfo = () => readFileSync("/proc/self/mountinfo", "utf8");
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("openReadOnly", () => {
  it("opens files and directories that can be read but not reopened for writing, naming no host path", async () => {
    const file = join(tmp, "lib.so");
    writeFileSync(file, "library bytes");
    const dir = join(tmp, "assets");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.wasm"), "asset");
    const before = mountInfo();
    const [fileFd, dirFd] = await openReadOnly([file, dir]);
    try {
      // The host's mount table is as it was: the read-only mounts lived in a namespace now gone.
      expect(mountInfo()).toBe(before);
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
    await expect(openReadOnly([join(tmp, "missing")])).rejects.toThrow(/missing/);
  });
});

describe("prepared files stream", () => {
  it("carries each file's name and bytes from the shim to a process reading fd 3, as runc would pass it", async () => {
    const big = Buffer.alloc(3 << 20, 7);
    writeFileSync(join(tmp, "component.mjs"), "export const x = 1;\n");
    writeFileSync(join(tmp, "big.wasm"), big);
    writeFileSync(join(tmp, "empty"), "");
    // The runner's side, blocking reads on its fd 3, in a process of its own as in a container.
    const reader = `import { readFiles } from ${JSON.stringify(fileURLToPath(new URL("../../src/wasm/payload.ts", import.meta.url)))};
      import { createHash } from "node:crypto";
      const files = readFiles(3);
      console.log(JSON.stringify(Object.entries(files).map(([n, b]) => [n, b.length, createHash("sha256").update(b).digest("hex")])));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", reader], { stdio: ["ignore", "pipe", "inherit", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await writeFiles(child.stdio[3] as Writable, { "component.mjs": join(tmp, "component.mjs"), "big.wasm": join(tmp, "big.wasm"), empty: join(tmp, "empty") });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    expect(JSON.parse(out)).toEqual([
      ["component.mjs", 20, sha(Buffer.from("export const x = 1;\n"))],
      ["big.wasm", big.length, sha(big)],
      ["empty", 0, sha(Buffer.alloc(0))],
    ]);
  });

  it("reports a stream that ends early", () => {
    const file = join(tmp, "short");
    writeFileSync(file, Buffer.from([0, 0, 0, 4, 0x61]));
    expect(() => readFiles(openSync(file, "r"))).toThrow(/ended early/);
  });
});

describe("withRunnerFds", () => {
  it("hands the runner's fds to the child at 3… in layout order, and survives a child that never reads its files", async () => {
    const names = ["loader", "binary", "lib1", "lib2", "assets"];
    for (const n of names) writeFileSync(join(tmp, `fd-${n}`), n);
    const [loader, binary, lib1, lib2, assets] = names.map((n) => openSync(join(tmp, `fd-${n}`), "r")) as [number, number, number, number, number];
    writeFileSync(join(tmp, "big"), Buffer.alloc(8 << 20, 1));
    const launch = { fds: { loader, binary, libs: [lib1, lib2], assets }, files: { big: join(tmp, "big") } };
    let preserved = -1;
    // As runc would: the child sees fds 3… ; this one reads 3..7 by path and exits without reading 8.
    const child = withRunnerFds(launch, (stdio, n) => {
      preserved = n;
      const script = "const fs = require('fs'); console.log([3,4,5,6,7].map((fd) => fs.readFileSync('/proc/self/fd/' + fd, 'utf8')).join(' '))";
      return spawn(process.execPath, ["-e", script], { stdio });
    })(["ignore", "pipe", "inherit"]);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(preserved).toBe(launch.fds.libs.length + 4);
    expect(out.trim()).toBe("loader binary lib1 lib2 assets");
    // The shim is still here: the broken pipe was nobody's uncaught error.
    await new Promise((r) => setTimeout(r, 200));
    [loader, binary, lib1, lib2, assets].forEach((fd) => closeSync(fd));
  });
});
