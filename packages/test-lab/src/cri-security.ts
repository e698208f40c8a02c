import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { ContainerState } from "./cri-client.ts";
import { CriNode } from "./cri-node.ts";
import { eventually as poll } from "./eventually.ts";

const eventually = <T>(check: () => Promise<T> | T) => poll(check, 30_000);

/** The real and effective uid and gid of a process, from /proc/<pid>/status. */
function ids(pid: number): { uid: string; gid: string } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    /^(\S+)/.exec(
      status
        .split("\n")
        .find((l) => l.startsWith(`${name}:`))!
        .slice(name.length + 1)
        .trim(),
    )![1]!;
  return { uid: field("Uid"), gid: field("Gid") };
}

/**
 * What Kubernetes' CRI validation suite (critest) checks of a runtime handler's security context
 * and sysctls, for the Wasm containers and the native sidecars of a `wasm-<engine>` pod: the
 * runner runs as the user the pod names and the kernel holds the guest to it, a read-only root
 * stays read-only, and a pod's namespaced sysctls reach its containers.
 */
export function criSecurityConformance(opts: ConformanceOptions): void {
  const handler = `wasm-${opts.engine}`;
  let node: CriNode;

  describe(`CRI security context and sysctls (handler ${handler})`, () => {
    beforeAll(async () => {
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: { [handler]: { type: `io.containerd.${opts.engine}.v1` } },
      });
    });

    afterAll(async () => {
      await node?.stop();
    });

    afterEach(async () => {
      for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
      await eventually(async () => expect(await node.leftovers()).toEqual([]));
    });

    it("runs a Wasm guest as runAsUser/runAsGroup: its files are theirs, and a root-owned dir refuses it", async () => {
      const open = mkdtempSync(join(tmpdir(), "cri-uid-open-"));
      const closed = mkdtempSync(join(tmpdir(), "cri-uid-closed-"));
      chmodSync(open, 0o777);
      chmodSync(closed, 0o755);
      const pod = await node.runPod("run-as-user", handler);
      const asUser = { image: node.images.fixtures.ref, runAsUser: 1234, runAsGroup: 2345 };
      const wrote = await pod.create({
        name: "wrote",
        ...asUser,
        command: ["/write-file.wasm", "/data/out.txt", "mine\n"],
        mounts: [{ containerPath: "/data", hostPath: open }],
      });
      const refused = await pod.create({
        name: "refused",
        ...asUser,
        command: ["/write-file.wasm", "/data/out.txt", "mine\n"],
        mounts: [{ containerPath: "/data", hostPath: closed }],
      });
      const sleeper = await pod.create({ name: "sleeper", ...asUser, command: ["/sleep.wasm", "100000000", "asleep"] });
      for (const id of [wrote, refused, sleeper]) await node.cri.runtime.startContainer({ containerId: id });
      expect((await pod.waitState(wrote, ContainerState.CONTAINER_EXITED)).exitCode).toBe(0);
      expect(statSync(join(open, "out.txt"))).toMatchObject({ uid: 1234, gid: 2345 });
      expect((await pod.waitState(refused, ContainerState.CONTAINER_EXITED)).exitCode).not.toBe(0);
      expect(() => statSync(join(closed, "out.txt"))).toThrow(/ENOENT/);
      // The runner itself, not only what it writes, has the pod's user.
      await eventually(() => expect(pod.log("sleeper").map((l) => l.text)).toContain("asleep"));
      const { info } = await node.cri.runtime.containerStatus({ containerId: sleeper, verbose: true });
      const pid = (JSON.parse(info.info ?? "{}") as { pid?: number }).pid ?? 0;
      expect(pid).toBeGreaterThan(0);
      expect(ids(pid)).toEqual({ uid: "1234", gid: "2345" });
      await pod.remove();
      rmSync(open, { recursive: true, force: true });
      rmSync(closed, { recursive: true, force: true });
    });

    it("keeps a read-only root read-only for a Wasm guest and a native sidecar alike", async () => {
      const pod = await node.runPod("readonly-root", handler);
      const guest = await pod.create({
        name: "guest",
        image: node.images.fixtures.ref,
        readonlyRootfs: true,
        command: ["/write-file.wasm", "/data/out.txt"],
      });
      const sidecar = await pod.create({
        name: "sidecar",
        image: node.images.busybox.ref,
        readonlyRootfs: true,
        command: ["sh", "-c", "echo x > /data/out.txt"],
      });
      for (const id of [guest, sidecar]) await node.cri.runtime.startContainer({ containerId: id });
      expect((await pod.waitState(guest, ContainerState.CONTAINER_EXITED)).exitCode).not.toBe(0);
      expect((await pod.waitState(sidecar, ContainerState.CONTAINER_EXITED)).exitCode).not.toBe(0);
      expect(pod.logText("sidecar")).toMatch(/Read-only file system/);
      await pod.remove();
    });

    it("applies a pod's namespaced sysctls to its containers", async () => {
      // IPC sysctls need the pod's own IPC namespace, which these pods have (ipc: POD).
      const pod = await node.runPod("sysctls", handler, {
        sysctls: { "kernel.shm_rmid_forced": "1", "kernel.msgmax": "12345" },
      });
      const sidecar = await pod.run({ name: "sidecar", image: node.images.busybox.ref, command: ["sleep", "100000"] });
      const res = await pod.execSync(sidecar, ["cat", "/proc/sys/kernel/shm_rmid_forced", "/proc/sys/kernel/msgmax"]);
      expect(res).toMatchObject({ exitCode: 0, stdout: "1\n12345\n" });
      await pod.remove();
    });
  });
}
