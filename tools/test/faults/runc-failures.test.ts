import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { injected, RuncWrapper } from "./runc-wrapper.ts";
import { faultEnv, runtimeOf, waitTask, type FaultEnv } from "./setup.ts";

// runc failing at each step the shim asks of it, selected as BinaryName through the runtime
// options (ctr --runtime-config-path). Each failure must reach the client as an error naming
// runc's message, leave the task as it was, and leave nothing once the step works again.
describe("runc failing at each step (ctr)", () => {
  let env: FaultEnv;
  let w: RuncWrapper;
  let seq = 0;
  const rt = () => ["--runtime", runtimeOf("node"), "--runtime-config-path", w.configFile];
  const id = (name: string) => `runc-${name}-${++seq}`;

  beforeAll(async () => {
    env = await faultEnv();
    w = new RuncWrapper(join(env.tmp, "runc-wrapper"));
  });
  afterAll(async () => env?.close());
  afterEach(async () => {
    w.clear();
    await eventually(async () => expect(await env.ctd.leftovers()).toEqual([]), 15_000);
  });

  async function running(name: string): Promise<string> {
    const cid = id(name);
    expect((await env.ctr(["run", "-d", ...rt(), env.images.fixtures.ref, cid, "/sleep.wasm", "100000000"])).code).toBe(
      0,
    );
    await waitTask(env, cid, "RUNNING");
    return cid;
  }

  async function remove(cid: string): Promise<void> {
    if ((await env.tasks()).get(cid)?.status !== "STOPPED")
      expect((await env.ctr(["task", "kill", "-s", "SIGKILL", cid])).code).toBe(0);
    await waitTask(env, cid, "STOPPED");
    expect((await env.ctr(["task", "rm", cid])).code).toBe(0);
    expect((await env.ctr(["container", "rm", cid])).code).toBe(0);
  }

  // Start is one `runc run --detach` (the daemon reaps the init as its subreaper): its failing
  // fails the Start with runc's message and leaves nothing of the container behind.
  const sub = "run";
  it(`${sub}: Start fails with runc's message; ctr run --rm removes the container; the next run works`, async () => {
    w.fail(sub);
    const r = await env.ctr(["run", "--rm", ...rt(), env.images.fixtures.ref, id(sub), "/hello.wasm"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("failed to start task: ");
    expect(r.stderr).toContain(injected(sub));
    expect((await env.ctr(["container", "ls", "-q"])).stdout).toBe("");
    w.clear();
    expect(await env.ctr(["run", "--rm", ...rt(), env.images.fixtures.ref, id(sub), "/hello.wasm"])).toMatchObject({
      code: 0,
      stdout: "hello from wasm\n",
    });
  });

  it("exec: the exec fails with runc's message, leaves no exec files in the bundle, and the task runs on", async () => {
    const cid = await running("exec");
    const bundle = join(env.ctd.dir, "state/io.containerd.runtime.v2.task", env.ctd.namespace, cid);
    const before = readdirSync(bundle).sort();
    w.fail("exec");
    const r = await env.ctr(["task", "exec", "--exec-id", "e1", cid, "/hello.wasm"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(injected("exec"));
    expect((await env.tasks()).get(cid)?.status).toBe("RUNNING");
    expect(readdirSync(bundle).sort()).toEqual(before);
    w.clear();
    expect(await env.ctr(["task", "exec", "--exec-id", "e2", cid, "/hello.wasm"])).toMatchObject({
      code: 0,
      stdout: "hello from wasm\n",
    });
    await remove(cid);
  });

  for (const [step, args, message] of [
    ["kill", (cid: string) => ["task", "kill", "-s", "SIGTERM", cid], injected("kill")],
    ["pause", (cid: string) => ["task", "pause", cid], injected("pause")],
    ["ps", (cid: string) => ["task", "ps", cid], injected("ps")],
  ] as const) {
    it(`${step}: the call fails with runc's message and the task runs on, untouched`, async () => {
      const cid = await running(step);
      w.fail(step);
      const r = await env.ctr(args(cid));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect((await env.tasks()).get(cid)?.status).toBe("RUNNING");
      w.clear();
      expect((await env.ctr(args(cid))).code).toBe(0);
      // The guest sleeps in poll_oneoff, and SIGTERM ends a guest in any state.
      if (step === "kill") await waitTask(env, cid, "STOPPED");
      if (step === "pause") expect((await env.ctr(["task", "resume", cid])).code).toBe(0);
      await remove(cid);
    });
  }

  // Stats reads the cgroups runc recorded (task/stats.ts), on v1 the files `runc events --stats`
  // would read: kubelet's Stats every 10 s must not cost a runc process each.
  it("events: Stats answers from the cgroup files without asking runc", async () => {
    const cid = await running("events");
    w.fail("events");
    const r = await env.ctr(["task", "metrics", cid]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    // The runner's threads count as the cgroup's tasks; v2 names memory.usage, v1 memory.usage_in_bytes.
    expect(r.stdout).toMatch(/^pids\.current\s+[1-9]\d*\s*$/m);
    expect(r.stdout).toMatch(/^memory\.usage(_in_bytes)?\s+[1-9]\d*\s*$/m);
    await remove(cid);
  });

  it("resume: the task stays PAUSED and resumes once runc works", async () => {
    const cid = await running("resume");
    expect((await env.ctr(["task", "pause", cid])).code).toBe(0);
    w.fail("resume");
    const r = await env.ctr(["task", "resume", cid]);
    expect(r.stderr).toContain(injected("resume"));
    expect((await env.tasks()).get(cid)?.status).toBe("PAUSED");
    w.clear();
    expect((await env.ctr(["task", "resume", cid])).code).toBe(0);
    await remove(cid);
  });

  it("delete: task rm fails and keeps the STOPPED task, whose runc state is still there; a retry removes everything", async () => {
    const cid = await running("delete");
    w.fail("delete");
    expect((await env.ctr(["task", "kill", "-s", "SIGKILL", cid])).code).toBe(0);
    await waitTask(env, cid, "STOPPED");
    const r = await env.ctr(["task", "rm", cid]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(injected("delete"));
    expect((await env.tasks()).get(cid)?.status).toBe("STOPPED");
    expect((await env.ctd.leftovers()).join("\n")).toMatch(new RegExp(`runc container ${cid}`));
    w.clear();
    expect((await env.ctr(["task", "rm", cid])).code).toBe(0);
    expect((await env.ctr(["container", "rm", cid])).code).toBe(0);
  });
});
