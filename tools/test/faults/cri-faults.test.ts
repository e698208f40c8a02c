import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ContainerState, CriError } from "@wasm-shims/test-lab/cri-client.ts";
import { CriNode, type Pod } from "@wasm-shims/test-lab/cri-node.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { injected, RuncWrapper } from "./runc-wrapper.ts";
import { binDir, runtimeOf } from "./setup.ts";

async function rejection(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

// The same faults as kubelet meets them: runc (BinaryName in the handler's options) failing at
// a step, and containerd restarted during StartContainer. kubelet retries what failed; here the
// retry comes once runc works again, and then the pod must go with nothing left.
describe("runc failing, and containerd restarting, under CRI", () => {
  let node: CriNode;
  let w: RuncWrapper;
  let wrapperDir = "";
  const handler = "wasm-node-wrapped";
  const sleeper = () => ({ name: "guest", image: node.images.fixtures.ref, command: ["/sleep.wasm", "100000000"] });

  beforeAll(async () => {
    wrapperDir = mkdtempSync(join(tmpdir(), "cri-faults-"));
    w = new RuncWrapper(join(wrapperDir, "runc-wrapper"));
    // containerd 1.6 passes a non-runc runtime only ConfigPath/ConfigBody, so BinaryName goes by file.
    node = await CriNode.start({
      shimDir: binDir,
      runtimes: { [handler]: { type: runtimeOf("node"), options: { ConfigPath: w.configFile } } },
    });
  });
  afterAll(async () => {
    await node?.stop();
    rmSync(wrapperDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    w.clear();
    for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
    await eventually(async () => expect(await node.leftovers()).toEqual([]), 15_000);
  });

  async function podWith(name: string): Promise<Pod> {
    return node.runPod(name, handler);
  }

  /**
   * A pod whose container's StartContainer is under way, runc run held, when containerd stops
   * (SIGTERM) or crashes (SIGKILL) and comes back: the call has failed, runc run is still held.
   */
  async function restartDuringStart(name: string, signal: "SIGTERM" | "SIGKILL"): Promise<{ pod: Pod; id: string }> {
    const pod = await podWith(name);
    const id = await pod.create(sleeper());
    w.block("run");
    const starting = rejection(node.cri.runtime.startContainer({ containerId: id }));
    await w.blocked("run");
    await node.restart(signal);
    expect(await starting).toBeInstanceOf(CriError);
    return { pod, id };
  }

  /** The task's status as `ctr task ls` shows it; undefined once containerd has none. */
  async function taskStatus(id: string): Promise<string | undefined> {
    const { stdout } = await node.ctd.ctr(["task", "ls"], { namespace: "k8s.io" });
    return stdout
      .split("\n")
      .find((l) => l.startsWith(id))
      ?.trim()
      .split(/\s+/)[2];
  }

  it("run: StartContainer fails with runc's message, the container is EXITED (StartError), the pod goes cleanly", async () => {
    const pod = await podWith("run-fails");
    const id = await pod.create(sleeper());
    w.fail("run");
    const err = await rejection(node.cri.runtime.startContainer({ containerId: id }));
    expect(err).toBeInstanceOf(CriError);
    expect(err?.message).toContain(injected("run"));
    const s = await pod.status(id);
    expect({ state: s.state, reason: s.reason }).toEqual({
      state: ContainerState.CONTAINER_EXITED,
      reason: "StartError",
    });
    w.clear();
    // kubelet creates the container anew; this one starts.
    await pod.run({ ...sleeper(), name: "guest-2" });
    await pod.remove();
  });

  it("kill: StopContainer fails and the container runs on; kubelet's retry stops it once runc works", async () => {
    const pod = await podWith("kill-fails");
    const id = await pod.run(sleeper());
    w.fail("kill");
    const err = await rejection(node.cri.runtime.stopContainer({ containerId: id, timeout: 1n }));
    expect(err?.message).toContain(injected("kill"));
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_RUNNING);
    w.clear();
    await node.cri.runtime.stopContainer({ containerId: id, timeout: 1n });
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_EXITED);
    await pod.remove();
  });

  it("delete: while runc cannot delete, CRI keeps retrying the exit in the background; once it can, the pod goes cleanly", async () => {
    const pod = await podWith("delete-fails");
    const id = await pod.run(sleeper());
    w.fail("delete");
    // CRI deletes the task as soon as it sees the exit; that fails, and CRI retries with back-off.
    const stop = await rejection(node.cri.runtime.stopContainer({ containerId: id, timeout: 1n }, 10_000));
    // The guest is dead, but until the task is deleted CRI does not call it exited.
    expect(stop?.message).toMatch(/DEADLINE_EXCEEDED|wait container/);
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_RUNNING);
    expect((await node.leftovers()).join("\n")).toMatch(new RegExp(`runc container ${id}`));
    w.clear();
    await pod.waitState(id, ContainerState.CONTAINER_EXITED, 60_000);
    await pod.remove();
  });

  it("containerd restarts during StartContainer: the call fails, the task is killed by CRI's cleanup or runs on until kubelet's stop, and its stop and removal leave nothing", async () => {
    const { pod, id } = await restartDuringStart("restart-start", "SIGTERM");
    w.clear();
    const task = () => taskStatus(id);
    // The failed StartContainer's own cleanup, a Delete with SIGKILL, kills the task when it
    // reaches the shim: the Kill waits for the Start under way, so the process does not run on.
    // containerd does not wait for that cleanup as it stops, and under load it can exit before
    // sending the Kill (one CI run in seven). The new CRI then cannot load the container (its FIFOs
    // are gone) and reports it UNKNOWN while the task runs on until kubelet stops it. (Where the
    // new CRI does find the task, its own kill ends it: next test.)
    const killed = await eventually(async () => expect([undefined, "STOPPED"]).toContain(await task()), 15_000).then(
      () => true,
      () => false,
    );
    const state = (await pod.status(id)).state;
    if (killed) {
      // The shim retries the exit event, as runc's shim does. When it reaches the new containerd
      // after CRI has loaded the container, CRI deletes the task and calls the container EXITED;
      // when it does not, the task stays STOPPED and CRI, its FIFOs removed by that cleanup,
      // cannot reload it: UNKNOWN. Either way the process is dead and kubelet can recover.
      expect([ContainerState.CONTAINER_UNKNOWN, ContainerState.CONTAINER_EXITED]).toContain(state);
      expect((await rejection(node.cri.runtime.startContainer({ containerId: id })))?.message).toMatch(
        /CONTAINER_UNKNOWN|CONTAINER_EXITED/,
      );
    } else {
      expect(await task()).toBe("RUNNING");
      expect([ContainerState.CONTAINER_RUNNING, ContainerState.CONTAINER_UNKNOWN]).toContain(state);
    }
    // kubelet kills a container that is not known to be stopped, then starts a new one.
    await node.cri.runtime.stopContainer({ containerId: id, timeout: 1n });
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_EXITED);
    expect(await task()).toBeUndefined();
    await pod.run({ ...sleeper(), name: "guest-2" });
    await pod.remove();
  });

  it("containerd crashes during StartContainer: the new CRI's kill of the half-started task ends it once runc run returns, and kubelet's stop and removal leave nothing", async () => {
    const { pod, id } = await restartDuringStart("crash-start", "SIGKILL");
    // CRI found the task CREATED and deleted it with a kill, which waits for the Start under way:
    // CRI gave up on loading the container after 10 s (UNKNOWN), but the kill stays with the shim.
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_UNKNOWN);
    w.clear();
    await eventually(async () => expect([undefined, "STOPPED"]).toContain(await taskStatus(id)), 15_000);
    await node.cri.runtime.stopContainer({ containerId: id, timeout: 1n });
    expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_EXITED);
    expect(await taskStatus(id)).toBeUndefined();
    await pod.run({ ...sleeper(), name: "guest-2" });
    await pod.remove();
  });
});
