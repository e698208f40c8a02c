import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { idleMs, IDLE_EXIT_ENV, watchOrphans } from "../../src/cli/orphans.ts";
import { silentLogger } from "../../src/log.ts";
import type { TaskService } from "../../src/task/service.ts";

/** The part of TaskService the watch uses, with containers that are just an id and a bundle. */
function fakeService(bundles: Record<string, string>) {
  const containers = new Map(Object.entries(bundles).map(([id, bundle]) => [id, { id, bundle }]));
  const creating = new Map<string, Promise<unknown>>();
  const forget = vi.fn(async (id: string) => void containers.delete(id));
  return { containers, creating, forget, service: { containers, creating, forget } as unknown as TaskService };
}

const timers: NodeJS.Timeout[] = [];
afterEach(() => timers.splice(0).forEach(clearInterval));

/** A watch on `service` that no client has ever dialled; returns its exit. */
function watchUnvisited(service: TaskService, opts: { idleMs: number; afterClientMs?: number; bundle?: string }) {
  const exit = vi.fn();
  timers.push(watchOrphans({ service, connections: () => 0, accepted: () => 0, log: silentLogger, exit, ...opts }));
  return exit;
}

describe("watchOrphans", () => {
  it("forgets a container whose bundle containerd removed, then exits once idle", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orphans-"));
    const [kept, gone] = [join(dir, "kept"), join(dir, "gone")];
    mkdirSync(kept);
    writeFileSync(join(kept, "config.json"), "{}");
    const f = fakeService({ kept, gone });
    const exit = watchUnvisited(f.service, { idleMs: 300 });
    await vi.waitFor(() => expect(f.forget).toHaveBeenCalledWith("gone"));
    expect([...f.containers.keys()]).toEqual(["kept"]);
    // A container left: not idle, however long.
    await sleep(700);
    expect(exit).not.toHaveBeenCalled();
    rmSync(join(kept, "config.json"));
    await vi.waitFor(() => expect(exit).toHaveBeenCalled(), { timeout: 3000 });
    expect(f.containers.size).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("never exits while a client is connected or a Create runs", async () => {
    const f = fakeService({});
    let clients = 1;
    const exit = vi.fn();
    timers.push(
      watchOrphans({
        service: f.service,
        connections: () => clients,
        accepted: () => 1,
        log: silentLogger,
        exit,
        idleMs: 200,
      }),
    );
    await sleep(600);
    expect(exit).not.toHaveBeenCalled();
    clients = 0;
    f.creating.set("x", new Promise(() => {}));
    await sleep(600);
    expect(exit).not.toHaveBeenCalled();
    f.creating.clear();
    await vi.waitFor(() => expect(exit).toHaveBeenCalled(), { timeout: 3000 });
  });

  it("exits sooner once a client has come and gone", async () => {
    const f = fakeService({});
    let clients = 1;
    const exit = vi.fn();
    timers.push(
      watchOrphans({
        service: f.service,
        connections: () => clients,
        accepted: () => 1,
        log: silentLogger,
        exit,
        idleMs: 60_000,
        afterClientMs: 300,
      }),
    );
    await sleep(500);
    expect(exit).not.toHaveBeenCalled();
    clients = 0;
    await vi.waitFor(() => expect(exit).toHaveBeenCalled(), { timeout: 3000 });
  });

  it("exits sooner when its bundle is removed before any client came", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orphans-"));
    writeFileSync(join(dir, "config.json"), "{}");
    const exit = watchUnvisited(fakeService({}).service, { idleMs: 60_000, afterClientMs: 300, bundle: dir });
    // containerd may still connect: the bundle is there, so the long wait holds.
    await sleep(700);
    expect(exit).not.toHaveBeenCalled();
    rmSync(dir, { recursive: true, force: true });
    await vi.waitFor(() => expect(exit).toHaveBeenCalled(), { timeout: 3000 });
  });

  it("waits 30 s unless the environment says otherwise", () => {
    expect(idleMs({})).toBe(30_000);
    expect(idleMs({ [IDLE_EXIT_ENV]: "1500" })).toBe(1500);
    expect(idleMs({ [IDLE_EXIT_ENV]: "soon" })).toBe(30_000);
  });
});
