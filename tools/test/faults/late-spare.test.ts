import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { isSpare, shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { argAfter, readProc } from "@wasm-shims/test-lab/procfs.ts";
import { faultEnv, runtimeOf, waitTask, type FaultEnv } from "./setup.ts";

// When no spare waits, the native `start` forks one for its own pod (native/entry/own_spare.c)
// and waits 10 s for its answer; on a node too loaded for that, Node's `start` spawns the daemon
// instead, and the forked spare is left to finish. Here that spare is frozen (SIGSTOP) as soon as
// it exists, long before its Node has booted, and let go once the pod runs.
describe("a spare that answers start too late", () => {
  let env: FaultEnv;
  beforeAll(async () => {
    env = await faultEnv();
  });
  afterAll(async () => env?.close());

  /** The spare a `start` forked: a spare with no control socket of its own. */
  const forkedSpare = () =>
    shimProcesses(env.ctd.socket).find((p) => isSpare(p) && argAfter(p.argv, "-socket") === undefined)?.pid;

  it("loses the pod to the daemon Node's start spawned, and at most waits as the node's one spare; the pod runs as usual", async () => {
    const id = "late-spare";
    const client = env.ctd.ctrSpawn([
      "run",
      "-d",
      "--null-io",
      "--runtime",
      runtimeOf("node"),
      env.images.fixtures.ref,
      id,
      "/sleep.wasm",
      "100000000",
    ]);
    let stderr = "";
    client.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = once(client, "close") as Promise<[number]>;
    let spare: number | undefined;
    for (let i = 0; i < 10_000 && spare === undefined; i++) {
      spare = forkedSpare();
      if (spare === undefined) await sleep(2);
    }
    if (spare === undefined) throw new Error("start forked no spare");
    process.kill(spare, "SIGSTOP");
    try {
      expect([(await exited)[0], stderr]).toEqual([0, ""]);
      const daemons = env.daemons(id);
      expect(daemons).toHaveLength(1);
      expect(daemons).not.toContain(spare);
    } finally {
      process.kill(spare, "SIGCONT");
    }
    // It reads the request `start` left in its socket and finds the pod served: it stays as the
    // node's next spare if no other waits (spare.ts, runOwnSpare), and exits otherwise.
    await eventually(() => {
      const late = readProc(spare);
      const spares = shimProcesses(env.ctd.socket).filter(isSpare);
      if (late && late.state !== "Z") {
        expect(argAfter(late.argv, "-socket")).toMatch(/^\/run\/containerd\/s\//);
        expect(spares.map((p) => p.pid)).toEqual([spare]);
      } else expect(spares.length).toBeLessThanOrEqual(1);
    }, 15_000);
    await waitTask(env, id, "RUNNING");
    expect(env.daemons(id)).toHaveLength(1);
    expect((await env.ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
    await waitTask(env, id, "STOPPED");
    expect((await env.ctr(["task", "rm", id])).code).toBe(0);
    expect((await env.ctr(["container", "rm", id])).code).toBe(0);
    await eventually(async () => expect(await env.ctd.leftovers()).toEqual([]), 15_000);
  });
});
