import { spawn, type StdioOptions } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DetachedInit } from "../../src/runc/detached.ts";
import { becomeSubreaper } from "../../src/runc/reaper.ts";

// `sh` stands for `runc run --detach`: it leaves a process behind, writes its pid and exits, and
// the process becomes ours through the subreaper (this test file runs in a process of its own).
const launcher =
  (script: string, before = "") =>
  (pidFile: string, stdio: StdioOptions) =>
    spawn("sh", ["-c", `${before} (${script}) & echo $! > ${pidFile}`], { stdio });

function outcome(init: DetachedInit): Promise<{ exit?: number; error?: string }> {
  return new Promise((resolve) => {
    init.once("exit", (code: number) => resolve({ exit: code }));
    init.once("error", (err: Error) => resolve({ error: err.message }));
  });
}

describe("a container init under the subreaper (runc run --detach)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "detached-"));
    expect(becomeSubreaper()).toBe(true);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports the pid once started and the exit status of the orphaned process", async () => {
    const pidFile = join(dir, "a.pid");
    const init = new DetachedInit(launcher("sleep 0.3; exit 7"), pidFile, ["ignore", "ignore", "ignore"]);
    const done = outcome(init);
    // Told as soon as the pid file is in place, while the process still runs.
    const pid = await init.running;
    expect(pid).toBe(Number(readFileSync(pidFile, "utf8")));
    expect(() => process.kill(pid!, 0)).not.toThrow();
    expect(await done).toEqual({ exit: 7 });
  });

  it("reports death by a signal as 128+signal", async () => {
    const pidFile = join(dir, "b.pid");
    const init = new DetachedInit(launcher("exec sleep 30"), pidFile, ["ignore", "ignore", "ignore"]);
    const done = outcome(init);
    for (let i = 0; i < 200 && !Number(readFileSync(pidFile, { encoding: "utf8", flag: "a+" })); i++)
      await new Promise((r) => setTimeout(r, 10));
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGTERM");
    expect(await done).toEqual({ exit: 143 });
  });

  it("feeds stdin through a pipe that outlives the creating process", async () => {
    const out = join(dir, "stdin-copy");
    const init = new DetachedInit(launcher(`cat <&3 > ${out}`, "exec 3<&0;"), join(dir, "c.pid"), [
      "pipe",
      "ignore",
      "ignore",
    ]);
    const done = outcome(init);
    await new Promise((r) => setTimeout(r, 200));
    init.stdin?.end("hello through the pipe\n");
    expect(await done).toEqual({ exit: 0 });
    expect(readFileSync(out, "utf8")).toBe("hello through the pipe\n");
  });

  it("fails without a pid file when runc fails, or exits 0 without writing one", async () => {
    const pidFile = join(dir, "d.pid");
    const failed = new DetachedInit((_p, stdio) => spawn("sh", ["-c", "exit 3"], { stdio }), pidFile, [
      "ignore",
      "ignore",
      "ignore",
    ]);
    expect(await outcome(failed)).toEqual({ exit: 3 });
    expect(await failed.running).toBeUndefined();
    const silent = new DetachedInit((_p, stdio) => spawn("sh", ["-c", "exit 0"], { stdio }), pidFile, [
      "ignore",
      "ignore",
      "ignore",
    ]);
    expect(await outcome(silent)).toEqual({ error: "runc run wrote no pid" });
    expect(await silent.running).toBeUndefined();
    expect(() => readFileSync(pidFile)).toThrow();
  });
});
