import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { ContainerState } from "@wasm-shims/test-lab/cri-client.ts";
import { containerCgroupsUnder } from "@wasm-shims/test-lab/cri-leftovers.ts";
import { CriNode } from "@wasm-shims/test-lab/cri-node.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { isAlive, waitGone } from "@wasm-shims/test-lab/procfs.ts";
import { binDir, clientFifosThenNothing, faultEnv, runtimeOf, waitTask, type FaultEnv } from "./setup.ts";

// A shim daemon killed with SIGKILL while its tasks run: containerd sees the connection close,
// runs the shim's `delete` for each container (which kills and removes what runc has, unmounts
// the rootfs and removes the dead daemon's socket) and reports the tasks gone.
describe("a shim daemon killed with SIGKILL (ctr)", () => {
  let env: FaultEnv;
  beforeAll(async () => {
    env = await faultEnv();
  });
  afterAll(async () => env?.close());

  for (const engine of ["node", "wasmer", "jco"]) {
    it(`${engine}: an attached client fails, the tasks end, delete cleans up, nothing is left`, async () => {
      const rt = ["--runtime", runtimeOf(engine)];
      const [detached, native, attached] = ["detached", "native", "attached"].map((n) => `kill-${engine}-${n}`) as [
        string,
        string,
        string,
      ];
      expect(
        (await env.ctr(["run", "-d", ...rt, env.images.fixtures.ref, detached, "/sleep.wasm", "100000000"])).code,
      ).toBe(0);
      expect((await env.ctr(["run", "-d", ...rt, env.images.busybox.ref, native, "/bin/sleep", "100000"])).code).toBe(
        0,
      );
      const client = env.ctd.ctrSpawn(["run", "--rm", ...rt, env.images.fixtures.ref, attached, "/loop.wasm"]);
      let stdout = "";
      let stderr = "";
      client.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
      client.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = once(client, "close") as Promise<[number]>;
      await eventually(() => expect(stdout).toContain("looping"), 60_000);
      for (const id of [detached, native, attached]) await waitTask(env, id, "RUNNING");
      const tasks = await env.tasks();
      const pids = [detached, native, attached].map((id) => tasks.get(id)!.pid);
      const daemons = [detached, native, attached].flatMap((id) => env.daemons(id));
      expect(daemons).toHaveLength(3);

      for (const pid of daemons) process.kill(pid, "SIGKILL");

      // The attached client learns at once that its task's shim is gone.
      const [code] = await exited;
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/ttrpc: closed|transport is closing/);
      // containerd drops the tasks, and their processes are gone (delete killed them).
      for (const id of [detached, native, attached]) await waitTask(env, id, undefined);
      for (const pid of pids) expect(await waitGone(pid, 10_000)).toBe(true);
      // The records stay until the user removes them; the task is already deleted.
      expect((await env.ctr(["task", "rm", detached])).stderr).toMatch(/not found/);
      expect((await env.ctr(["container", "rm", detached, native])).code).toBe(0);
      expect((await env.ctr(["container", "ls", "-q"])).stdout).toBe("");
      // What ctr left (its FIFO dirs) is the client's; the shims left nothing.
      await clientFifosThenNothing(env.ctd);
      // The runtime works as before.
      expect(
        await env.ctr(["run", "--rm", ...rt, env.images.fixtures.ref, `kill-${engine}-after`, "/hello.wasm"]),
      ).toMatchObject({ code: 0, stdout: "hello from wasm\n" });
    });
  }
});

describe("a pod's shim daemon killed with SIGKILL (CRI)", () => {
  let node: CriNode;
  beforeAll(async () => {
    node = await CriNode.start({ shimDir: binDir, runtimes: { "wasm-node": { type: runtimeOf("node") } } });
  });
  afterAll(async () => node?.stop());

  it("reports every container of the pod exited and the sandbox not ready; the pod is removed cleanly and a new one runs", async () => {
    const pod = await node.runPod("killed", "wasm-node");
    const guest = await pod.run({
      name: "guest",
      image: node.images.fixtures.ref,
      command: ["/sleep.wasm", "100000000"],
    });
    const sidecar = await pod.run({
      name: "sidecar",
      image: node.images.busybox.ref,
      command: ["/bin/sh", "-c", "exec sleep 100000"],
    });
    const daemons = shimProcesses(node.ctd.socket).filter((p) => p.id === pod.id && p.argv.at(-1) === "serve");
    expect(daemons).toHaveLength(1);
    process.kill(daemons[0]!.pid, "SIGKILL");

    for (const id of [guest, sidecar]) {
      const s = await pod.waitState(id, ContainerState.CONTAINER_EXITED, 30_000);
      // CRI's wait on the task fails when the shim's connection closes, and it records 255
      // ("unknown exit"); should containerd's TaskExit from `delete` come first, 137.
      expect([255, 137]).toContain(s.exitCode);
      console.log(
        `CRI after the daemon's SIGKILL: exit ${s.exitCode}, reason ${s.reason}, message ${JSON.stringify(s.message)}`,
      );
    }
    await eventually(async () => {
      const { status } = await node.cri.runtime.podSandboxStatus({ podSandboxId: pod.id });
      expect(status?.state).toBe(1); // SANDBOX_NOTREADY: kubelet now recreates the pod
    }, 30_000);
    expect(isAlive(daemons[0]!.pid)).toBe(false);
    // containerd runs the shim's `delete` for each of the pod's containers, which kills what runc
    // still runs there and has runc delete it: a moment after CRI reported the exits, no process
    // and no container cgroup is left in the pod. (Waiting for the processes alone raced the
    // last delete, still removing the sandbox's cgroups when the pod was removed.)
    await eventually(() => expect(containerCgroupsUnder(pod.cgroupParent)).toEqual([]), 30_000);
    await pod.remove();
    await eventually(async () => expect(await node.leftovers()).toEqual([]), 15_000);

    const again = await node.runPod("killed", "wasm-node");
    await again.run({ name: "guest", image: node.images.fixtures.ref, command: ["/sleep.wasm", "100000000"] });
    await again.remove();
    await eventually(async () => expect(await node.leftovers()).toEqual([]), 15_000);
  });
});
