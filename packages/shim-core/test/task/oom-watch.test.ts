import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OomWatch } from "../../src/task/oom-watch.ts";

const dir = mkdtempSync(join(tmpdir(), "oom-watch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const events = (oomKill: number) =>
  writeFileSync(join(dir, "memory.events"), `low 0\nhigh 0\nmax 3\noom 1\noom_kill ${oomKill}\noom_group_kill 0\n`);

describe("OomWatch", () => {
  it("reports each rise of the kernel's oom_kill count once, and nothing after stop", async () => {
    let kills = 0;
    events(0);
    const watch = new OomWatch(dir, () => kills++, 60_000);
    await watch.check();
    expect(kills).toBe(0);
    events(2);
    await Promise.all([watch.check(), watch.check()]);
    expect({ kills, seen: watch.seen }).toEqual({ kills: 1, seen: 2 });
    await watch.stop();
    events(3);
    expect(kills).toBe(1);
  });

  it("does nothing for a task without a memory cgroup", async () => {
    let kills = 0;
    const watch = new OomWatch(undefined, () => kills++, 10);
    await watch.check();
    await watch.stop();
    expect(kills).toBe(0);
  });
});
