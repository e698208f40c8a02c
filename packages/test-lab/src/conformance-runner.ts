import { once } from "node:events";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
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

/**
 * What a runner (the container's process) holds. V8 keeps its 2 MB of builtins beside each
 * isolate's code, mapped from the executable's file where it can open the path the kernel shows,
 * which a runner's executable (an fd from outside the container) never has: unless the executable
 * turns that off (tools/sea-build.mjs), every isolate of every runner holds a private copy.
 */
export function runnerCases(c: CaseContext): void {
  it("keeps no private copy of V8's builtins in its runner", async () => {
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
    } finally {
      await c.ctr(["task", "kill", "-s", "SIGKILL", cid]);
      await once(child, "exit");
    }
  });
}
