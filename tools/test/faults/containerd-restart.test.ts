import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDLE_EXIT_ENV } from "@wasm-shims/shim-core/src/cli/orphans.ts";
import { SPARE_ENV } from "@wasm-shims/shim-core/src/cli/spare-client.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { isAlive, waitGone } from "@wasm-shims/test-lab/procfs.ts";
import { RuncWrapper } from "./runc-wrapper.ts";
import { clientFifosThenNothing, faultEnv, runtimeOf, waitTask, type FaultEnv } from "./setup.ts";

const rt = ["--runtime", runtimeOf("node")];

/**
 * Connections queued on a listening unix socket, not yet accepted: /proc/net/unix lists each as
 * CONNECTING (02) under the name the listener was bound to, `<path>.<pid>.<n>` (cli/socket.ts).
 */
function pendingConnections(path: string): number {
  return readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .filter((line) => {
      const f = line.trim().split(/\s+/);
      return f[7]?.startsWith(`${path}.`) === true && f[5] === "02";
    }).length;
}

// containerd restarted while a Create or a Start is in flight in the shim. To hold a Create in
// flight, the fresh daemon is stopped (SIGSTOP) the moment it appears, before it can read the
// request containerd already sent; a Start is held by a runc wrapper that waits at `runc run`.
describe("containerd restarted during Create and during Start (ctr)", () => {
  let env: FaultEnv;
  let wrapper: RuncWrapper;
  beforeAll(async () => {
    // A daemon that containerd forgot waits 2 s (not 30) before it exits. No spares: a daemon that
    // `start` spawns has its command line from birth, so it is frozen before it can accept
    // containerd's connection. A spare takes that command line only once it has bound the pod's
    // socket, and then answers `start` at once: the freeze came a few ms too late whenever the
    // daemon's code loaded fast enough (3 of 3 in CI once the codec took 50 ms off its load).
    env = await faultEnv({ env: { [IDLE_EXIT_ENV]: "2000", [SPARE_ENV]: "0" } });
    wrapper = new RuncWrapper(join(env.tmp, "runc-wrapper"));
  });
  afterAll(async () => env?.close());

  const bundle = (id: string) => join(env.ctd.dir, "state/io.containerd.runtime.v2.task", env.ctd.namespace, id);

  /** `ctr run -d` whose daemon is frozen before it handles Create; returns the daemon and ctr's outcome. */
  async function createFrozen(id: string) {
    // No stdio: ctr removes its FIFOs when its Create fails, and Create (as runc's shim does) needs them.
    const client = env.ctd.ctrSpawn([
      "run",
      "-d",
      "--null-io",
      ...rt,
      env.images.fixtures.ref,
      id,
      "/sleep.wasm",
      "100000000",
    ]);
    let stderr = "";
    client.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = once(client, "close") as Promise<[number]>;
    let daemon: number | undefined;
    for (let i = 0; i < 6000 && daemon === undefined; i++) {
      daemon = shimProcesses(env.ctd.socket).find((p) => p.id === id && p.argv.at(-1) === "serve")?.pid;
      if (daemon === undefined) await sleep(5);
    }
    if (daemon === undefined) throw new Error("no daemon appeared");
    process.kill(daemon, "SIGSTOP");
    // The daemon can be caught before `start` has even printed its address: wait for containerd's
    // connection (with the Create behind it) to be queued on the socket the daemon inherited.
    const argv = shimProcesses(env.ctd.socket).find((p) => p.pid === daemon)!.argv;
    const socket = argv[argv.indexOf("-socket") + 1]!;
    await eventually(() => expect(pendingConnections(socket)).toBeGreaterThan(0), 20_000);
    // Create has not happened: it writes shim.json into the bundle.
    expect(existsSync(join(bundle(id), "shim.json"))).toBe(false);
    return { daemon, client: async () => [(await exited)[0], stderr] as const };
  }

  it("the shim finishes Create while containerd is down: the task is back as CREATED and deletes cleanly", async () => {
    const id = "create-while-down";
    const { daemon, client } = await createFrozen(id);
    await env.ctd.down();
    const [code, stderr] = await client();
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/transport is closing|closed|unavailable|EOF/i);
    process.kill(daemon, "SIGCONT");
    await eventually(() => expect(existsSync(join(bundle(id), "shim.json"))).toBe(true), 30_000);
    await env.ctd.up();
    await waitTask(env, id, "CREATED");
    expect((await env.ctr(["task", "rm", "-f", id])).code).toBe(0);
    expect((await env.ctr(["container", "rm", id])).code).toBe(0);
    expect(await waitGone(daemon, 10_000)).toBe(true);
    await clientFifosThenNothing(env.ctd);
  });

  it("containerd is back before the shim answers Create: it cleans the task up as a dead shim's, and the daemon exits", async () => {
    const id = "create-back-first";
    const { daemon, client } = await createFrozen(id);
    // containerd's load gives the frozen daemon a few seconds, then runs `delete` and removes the bundle.
    await env.ctd.restart();
    const [code] = await client();
    expect(code).not.toBe(0);
    expect(existsSync(bundle(id))).toBe(false);
    process.kill(daemon, "SIGCONT");
    // Its Create fails (the bundle is gone); with no container and no client it exits.
    expect(await waitGone(daemon, 20_000)).toBe(true);
    expect((await env.tasks()).has(id)).toBe(false);
    expect((await env.ctr(["container", "rm", id])).code).toBe(0);
    await clientFifosThenNothing(env.ctd);
  });

  it("containerd restarts while runc run is under way in Start: the task comes up RUNNING and is deleted cleanly", async () => {
    const id = "start-restart";
    wrapper.block("run");
    const client = env.ctd.ctrSpawn([
      "run",
      "-d",
      ...rt,
      "--runtime-config-path",
      wrapper.configFile,
      env.images.fixtures.ref,
      id,
      "/sleep.wasm",
      "100000000",
    ]);
    const exited = once(client, "close") as Promise<[number]>;
    await wrapper.blocked("run");
    await env.ctd.restart();
    expect((await exited)[0]).not.toBe(0);
    // Still starting after the restart: containerd reloaded the task from the live daemon.
    expect((await env.tasks()).get(id)?.status).toBe("CREATED");
    wrapper.clear();
    await waitTask(env, id, "RUNNING");
    const pid = (await env.tasks()).get(id)!.pid;
    expect(isAlive(pid)).toBe(true);
    expect((await env.ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
    await waitTask(env, id, "STOPPED");
    expect((await env.ctr(["task", "rm", id])).code).toBe(0);
    expect((await env.ctr(["container", "rm", id])).code).toBe(0);
    await clientFifosThenNothing(env.ctd);
  });
});
