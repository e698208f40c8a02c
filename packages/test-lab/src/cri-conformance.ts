import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually as poll } from "./eventually.ts";
import { ContainerState, CriError } from "./cri-client.ts";
import { CriNode, criNamespace, type ContainerSpec } from "./cri-node.ts";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { shimProcesses } from "./leftovers.ts";
import { cgroupMounts, listProcs } from "./procfs.ts";

export type CriConformanceOptions = ConformanceOptions;

const rfc3339Nano = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const eventually = <T>(check: () => Promise<T> | T, ms = 15_000) => poll(check, ms);
const MiB = 1024 * 1024;

async function rejection(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

/** Our shim daemons (`… -id <first container> -address <containerd> … serve`), by the id they were started for. */
function shimDaemons(socket: string): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  for (const p of shimProcesses(socket).filter((s) => s.argv.at(-1) === "serve"))
    byId.set(p.id, [...(byId.get(p.id) ?? []), p.pid]);
  return byId;
}

/** The CFS throttling counters of a container's cgroup: v1 cpu.stat has throttled_time (ns), v2 throttled_usec. */
function cpuThrottling(cgroup: string): { throttled: number; throttledNs: number } | undefined {
  for (const mount of cgroupMounts()) {
    const file = join(mount, cgroup, "cpu.stat");
    if (!existsSync(file)) continue;
    const stat = Object.fromEntries(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.includes(" "))
        .map((l) => l.split(" ") as [string, string]),
    );
    if (stat.nr_periods === undefined) continue;
    const throttledNs =
      stat.throttled_time !== undefined ? Number(stat.throttled_time) : Number(stat.throttled_usec ?? 0) * 1000;
    return { throttled: Number(stat.nr_throttled ?? 0), throttledNs };
  }
  return undefined;
}

/**
 * Pods whose RuntimeClass handler is `wasm-<engine>`, driven over containerd's CRI socket the way
 * kubelet drives it: the pause container and native sidecars run through the shim natively, the
 * Wasm containers through the engine. Each engine package calls this from its own test file.
 */
export function criConformance(opts: CriConformanceOptions): void {
  const handler = `wasm-${opts.engine}`;
  const runtimeType = `io.containerd.${opts.engine}.v1`;
  let node: CriNode;
  let optionsDir: string;
  const wasm = (name: string, command: string[], extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name,
    image: node.images.fixtures.ref,
    command,
    ...extra,
  });
  const busybox = (name: string, script: string): ContainerSpec => ({
    name,
    image: node.images.busybox.ref,
    command: ["/bin/sh", "-c", script],
  });

  describe(`CRI pods with RuntimeClass handler ${handler} (${runtimeType})`, () => {
    beforeAll(async () => {
      optionsDir = mkdtempSync(join(tmpdir(), "cri-options-"));
      writeFileSync(join(optionsDir, "cgroupfs.toml"), "SystemdCgroup = false\n");
      writeFileSync(join(optionsDir, "systemd.toml"), "SystemdCgroup = true\n");
      node = await CriNode.start({
        shimDir: shimBinaryDir(opts),
        ...(opts.env ? { env: opts.env } : {}),
        runtimes: {
          // As a cluster's config.toml would have it; containerd 1.6 drops keys it does not know here.
          [handler]: { type: runtimeType, options: { SystemdCgroup: false } },
          [`${handler}-config-path`]: { type: runtimeType, options: { ConfigPath: join(optionsDir, "cgroupfs.toml") } },
          [`${handler}-systemd`]: { type: runtimeType, options: { ConfigPath: join(optionsDir, "systemd.toml") } },
        },
      });
    });

    afterAll(async () => {
      await node?.stop();
      rmSync(optionsDir, { recursive: true, force: true });
    });

    // A failed test may leave its pod; remove it the way kubelet would, then nothing may be left.
    afterEach(async () => {
      for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
      await eventually(async () => expect(await node.leftovers()).toEqual([]));
    });

    it("runs a Wasm container beside a native sidecar; the guest's output reaches its CRI log while it runs", async () => {
      const pod = await node.runPod("mixed", handler);
      const status = await node.cri.runtime.podSandboxStatus({ podSandboxId: pod.id });
      expect(status.status).toMatchObject({ state: 0, runtimeHandler: handler });
      // loop prints once, then spins for ever: its line can only be seen while it runs.
      const guest = await pod.run(wasm("guest", ["/loop.wasm"], { cpuQuota: 20_000 }));
      const sidecar = await pod.run(busybox("sidecar", "echo sidecar-up; exec sleep 100000"));
      const lines = await eventually(() => {
        const l = pod.log("guest");
        expect(l.map((x) => x.text)).toContain("looping");
        return l;
      });
      expect(lines[0]).toMatchObject({ stream: "stdout", partial: false, text: "looping" });
      expect(lines[0]!.time).toMatch(rfc3339Nano);
      expect((await pod.status(guest)).state).toBe(ContainerState.CONTAINER_RUNNING);
      await eventually(() => expect(pod.log("sidecar").map((x) => x.text)).toEqual(["sidecar-up"]));
      const { containers } = await node.cri.runtime.listContainers({ filter: { podSandboxId: pod.id } });
      expect(containers.map((c) => [c.metadata?.name, c.state]).sort()).toEqual([
        ["guest", ContainerState.CONTAINER_RUNNING],
        ["sidecar", ContainerState.CONTAINER_RUNNING],
      ]);
      expect((await pod.status(sidecar)).state).toBe(ContainerState.CONTAINER_RUNNING);
      await pod.remove();
    });

    it("reports CPU and memory of a running Wasm container in ContainerStats and ListContainerStats", async () => {
      const pod = await node.runPod("stats", handler);
      const guest = await pod.run(wasm("guest", ["/loop.wasm"], { cpuQuota: 20_000 }));
      const sidecar = await pod.run(busybox("sidecar", "exec sleep 100000"));
      await eventually(async () => {
        const { stats } = await node.cri.runtime.containerStats({ containerId: guest });
        expect(stats?.attributes?.metadata?.name).toBe("guest");
        expect(stats?.cpu?.usageCoreNanoSeconds?.value ?? 0n).toBeGreaterThan(0n);
        expect(stats?.memory?.workingSetBytes?.value ?? 0n).toBeGreaterThan(0n);
      });
      const { stats } = await node.cri.runtime.listContainerStats({ filter: { podSandboxId: pod.id } });
      const byId = new Map(stats.map((s) => [s.attributes?.id, s]));
      expect([...byId.keys()].sort()).toEqual([guest, sidecar].sort());
      expect(byId.get(guest)?.cpu?.usageCoreNanoSeconds?.value ?? 0n).toBeGreaterThan(0n);
      expect(byId.get(guest)?.memory?.workingSetBytes?.value ?? 0n).toBeGreaterThan(0n);
      await pod.remove();
    });

    it("ends a guest that grows past its memory limit with reason OOMKilled", async () => {
      const pod = await node.runPod("oom", handler);
      const id = await pod.create(wasm("grow", ["/grow.wasm", "2048"], { memoryLimitBytes: 160 * MiB }));
      await node.cri.runtime.startContainer({ containerId: id });
      const status = await pod.waitState(id, ContainerState.CONTAINER_EXITED, 60_000);
      expect({ reason: status.reason, exitCode: status.exitCode }).toEqual({ reason: "OOMKilled", exitCode: 137 });
      // It really was running and growing until the kernel stepped in.
      expect(pod.log("grow").map((l) => l.text)).toContain("grown 16 MiB");
      await pod.remove();
    });

    it("throttles a spinning guest to its CPU quota (cgroup cpu.stat)", async () => {
      const pod = await node.runPod("cpu", handler);
      const id = await pod.run(wasm("spin", ["/spin.wasm", "600000"], { cpuQuota: 10_000, cpuPeriod: 100_000 }));
      const cgroup = `${pod.cgroupParent}/${id}`;
      await eventually(() => {
        const now = cpuThrottling(cgroup);
        expect(now?.throttled ?? 0).toBeGreaterThan(2);
        expect(now?.throttledNs ?? 0).toBeGreaterThan(0);
      });
      const { stats } = await node.cri.runtime.containerStats({ containerId: id });
      expect(stats?.cpu?.usageCoreNanoSeconds?.value ?? 0n).toBeGreaterThan(0n);
      await pod.remove();
    });

    it("execs into the sidecar and, with Wasm commands only, into the Wasm container", async () => {
      const pod = await node.runPod("exec", handler);
      const guest = await pod.run(wasm("guest", ["/sleep.wasm", "100000000"]));
      const sidecar = await pod.run(busybox("sidecar", "exec sleep 100000"));
      expect(await pod.execSync(sidecar, ["/bin/sh", "-c", "echo exec-ok; echo to-err >&2; exit 3"])).toEqual({
        stdout: "exec-ok\n",
        stderr: "to-err\n",
        exitCode: 3,
      });
      expect(await pod.execSync(guest, ["/hello.wasm"])).toEqual({
        stdout: "hello from wasm\n",
        stderr: "",
        exitCode: 0,
      });
      const args = await pod.execSync(guest, ["/args-env.wasm", "x y"]);
      expect(args.stdout.split("\n")).toEqual(
        expect.arrayContaining([
          `arg:${(opts.argv0 ?? ((p: string) => p))("/args-env.wasm")}`,
          "arg:x y",
          "env:GREETING=hello",
        ]),
      );
      const exit = await pod.execSync(guest, ["/exit-code.wasm", "7"]);
      expect(exit.exitCode).toBe(7);
      const sh = await rejection(pod.execSync(guest, ["sh", "-c", "echo hi"]));
      expect(sh).toBeInstanceOf(CriError);
      expect(sh?.message).toMatch(/cannot exec sh in WebAssembly container/);
      // The failed exec leaves the guest as it was.
      expect((await pod.status(guest)).state).toBe(ContainerState.CONTAINER_RUNNING);
      await pod.remove();
    });

    it("stops and removes a pod with running containers through StopPodSandbox alone, leaving nothing", async () => {
      const pod = await node.runPod("teardown", handler);
      await pod.run(wasm("guest", ["/loop.wasm"], { cpuQuota: 20_000 }));
      await pod.run(wasm("sleeper", ["/sleep.wasm", "100000000"]));
      await pod.run(busybox("sidecar", "exec sleep 100000"));
      const daemons = shimDaemons(node.ctd.socket).get(pod.id) ?? [];
      expect(daemons).toHaveLength(1);
      await pod.remove({ containersFirst: false });
      // The daemon exits on its own once containerd has shut it down, a moment after the last call.
      await eventually(async () => expect(await node.leftovers()).toEqual([]), 5_000);
      expect(listProcs().filter((p) => daemons.includes(p.pid) && p.state !== "Z")).toEqual([]);
      const { containers } = await node.cri.runtime.listContainers({ filter: { podSandboxId: pod.id } });
      expect(containers).toEqual([]);
    });

    it("gives each pod its own shim daemon, shared by all of the pod's containers", async () => {
      const a = await node.runPod("pod-a", handler);
      const b = await node.runPod("pod-b", handler);
      const aIds = [
        a.id,
        await a.run(wasm("one", ["/sleep.wasm", "100000000"])),
        await a.run(wasm("two", ["/sleep.wasm", "100000000"])),
        await a.run(busybox("three", "exec sleep 100000")),
      ];
      const bIds = [b.id, await b.run(wasm("one", ["/sleep.wasm", "100000000"]))];
      const daemons = shimDaemons(node.ctd.socket);
      expect([...daemons.keys()].sort()).toEqual([a.id, b.id].sort());
      expect(daemons.get(a.id)).toHaveLength(1);
      expect(daemons.get(b.id)).toHaveLength(1);
      const address = (id: string) =>
        readFileSync(join(node.ctd.dir, "state/io.containerd.runtime.v2.task", criNamespace, id, "address"), "utf8");
      expect(new Set(aIds.map(address)).size).toBe(1);
      expect(new Set(bIds.map(address)).size).toBe(1);
      expect(address(a.id)).not.toBe(address(b.id));
      await a.remove();
      // The other pod's daemon is untouched by the first pod's end.
      expect((await b.status(bIds[1]!)).state).toBe(ContainerState.CONTAINER_RUNNING);
      await eventually(() => expect([...shimDaemons(node.ctd.socket).keys()]).toEqual([b.id]), 5_000);
      await b.remove();
    });

    for (const [command, why] of [
      ["/invalid.wasm", /\/invalid\.wasm is not a valid WebAssembly module/],
      ["/nope.wasm", /\/nope\.wasm does not exist/],
    ] as const) {
      it(`fails a container whose command is ${command} with a clear reason; the pod is still removed cleanly`, async () => {
        const pod = await node.runPod("broken", handler);
        const sidecar = await pod.run(busybox("sidecar", "exec sleep 100000"));
        let created: string | undefined;
        const err = await rejection(
          (async () => {
            created = await pod.create(wasm("broken", [command]));
            await node.cri.runtime.startContainer({ containerId: created });
          })(),
        );
        expect(err?.message).toMatch(why);
        if (created) {
          const status = await pod.status(created);
          expect(status.state).toBe(ContainerState.CONTAINER_EXITED);
          expect(status.reason).toBe("StartError");
          expect(status.message).toMatch(why);
        }
        // The pod and its other containers are unaffected.
        expect((await pod.status(sidecar)).state).toBe(ContainerState.CONTAINER_RUNNING);
        await pod.remove();
      });
    }

    it("passes the runtime options table (inline, or by ConfigPath) on to the shim", async () => {
      const pod = await node.runPod("config-path", `${handler}-config-path`);
      await pod.run(wasm("guest", ["/sleep.wasm", "100000000"]));
      await pod.remove();
      // SystemdCgroup = true by ConfigPath reaches runc: with no systemd here, and a cgroupfs-style
      // parent, it refuses the sandbox. Had the shim ignored the options, the pod would run.
      const err = await rejection(node.runPod("systemd", `${handler}-systemd`));
      expect(err?.message).toMatch(/systemd|slice:prefix:name/);
    });
  });
}
