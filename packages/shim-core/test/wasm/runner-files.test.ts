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
