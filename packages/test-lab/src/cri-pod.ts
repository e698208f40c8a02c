import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ContainerState, NamespaceMode, type ContainerStatus, type ExecSyncResponse } from "./cri-client.ts";
import { containerCgroupsUnder, removePodCgroup } from "./cri-leftovers.ts";
import type { CriNode } from "./cri-node.ts";

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  memoryLimitBytes?: number;
  /** CFS quota and period in microseconds, as kubelet derives them from a CPU limit. */
  cpuQuota?: number;
  cpuPeriod?: number;
  cpuShares?: number;
  /** Overrides the image's WORKDIR, as a pod's workingDir does. */
  workingDir?: string;
  /** Host directories bind-mounted into the container, as a pod's hostPath volumes are. */
  mounts?: { containerPath: string; hostPath: string }[];
  /** An stdin that a client Attaches to; it ends (EOF) when that client's stream ends. */
  stdin?: boolean;
  /** A terminal (a pod's `tty: true`): stdout and stderr become one stream. */
  tty?: boolean;
  /** A container's securityContext: runAsUser/runAsGroup and readOnlyRootFilesystem. */
  runAsUser?: number;
  runAsGroup?: number;
  readonlyRootfs?: boolean;
}

export interface LogLine {
  time: string;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

/** Lines of a CRI container log: `<RFC3339Nano> <stream> <F|P> <text>`. */
export function parseCriLog(text: string): LogLine[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((line) => {
      const m = /^(\S+) (stdout|stderr) ([FP]) (.*)$/.exec(line);
      if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(line)}`);
      return { time: m[1]!, stream: m[2] as LogLine["stream"], partial: m[3] === "P", text: m[4]! };
    });
}

/**
 * One pod as kubelet runs it: host network unless the node has a pod network, its own log directory and cgroup parent.
 * Containers get the pod's config back in CreateContainer, as CRI needs it for log paths and cgroups.
 */
export class Pod {
  readonly id: string;
  readonly name: string;
  readonly logDir: string;
  readonly cgroupParent: string;
  readonly #node: CriNode;
  readonly #config: ReturnType<typeof podConfig>;

  constructor(node: CriNode, id: string, config: ReturnType<typeof podConfig>) {
    this.#node = node;
    this.id = id;
    this.#config = config;
    this.name = config.metadata.name;
    this.logDir = config.logDirectory;
    this.cgroupParent = config.linux.cgroupParent;
  }

  get #rt() {
    return this.#node.cri.runtime;
  }

  async create(spec: ContainerSpec): Promise<string> {
    const { containerId } = await this.#rt.createContainer({
      podSandboxId: this.id,
      sandboxConfig: this.#config,
      config: {
        metadata: { name: spec.name, attempt: 0 },
        image: { image: spec.image },
        command: spec.command ?? [],
        args: spec.args ?? [],
        envs: Object.entries(spec.env ?? {}).map(([key, value]) => ({ key, value })),
        workingDir: spec.workingDir ?? "",
        mounts: spec.mounts ?? [],
        stdin: spec.stdin ?? false,
        stdinOnce: spec.stdin ?? false,
        tty: spec.tty ?? false,
        logPath: `${spec.name}/0.log`,
        labels: { "io.kubernetes.container.name": spec.name },
        linux: {
          resources: {
            memoryLimitInBytes: BigInt(spec.memoryLimitBytes ?? 0),
            cpuQuota: BigInt(spec.cpuQuota ?? 0),
            cpuPeriod: BigInt(spec.cpuPeriod ?? (spec.cpuQuota ? 100_000 : 0)),
            cpuShares: BigInt(spec.cpuShares ?? 2),
          },
          securityContext: {
            namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD },
            readonlyRootfs: spec.readonlyRootfs ?? false,
            ...(spec.runAsUser !== undefined ? { runAsUser: { value: BigInt(spec.runAsUser) } } : {}),
            ...(spec.runAsGroup !== undefined ? { runAsGroup: { value: BigInt(spec.runAsGroup) } } : {}),
          },
        },
      },
    });
    return containerId;
  }

  /** Create and start, then wait for RUNNING, as kubelet's SyncPod does. */
  async run(spec: ContainerSpec): Promise<string> {
    const id = await this.create(spec);
    await this.#rt.startContainer({ containerId: id });
    await this.waitState(id, ContainerState.CONTAINER_RUNNING);
    return id;
  }

  async status(id: string): Promise<ContainerStatus> {
    const { status } = await this.#rt.containerStatus({ containerId: id });
    if (!status) throw new Error(`no status for container ${id}`);
    return status;
  }

  /** Polls ContainerStatus (kubelet's PLEG does the same, every second) until `state`. */
  async waitState(id: string, state: ContainerState, timeoutMs = 30_000): Promise<ContainerStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status(id);
      if (s.state === state) return s;
      if (s.state === ContainerState.CONTAINER_EXITED && state !== ContainerState.CONTAINER_EXITED) {
        throw new Error(
          `container ${s.metadata?.name} exited (${s.exitCode}, ${s.reason}: ${s.message}) instead of reaching ${ContainerState[state]}; log:\n${this.logText(s.metadata?.name ?? "")}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`container ${s.metadata?.name} still ${ContainerState[s.state]} after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  logFile(name: string): string {
    return join(this.logDir, name, "0.log");
  }

  logText(name: string): string {
    try {
      return readFileSync(this.logFile(name), "utf8");
    } catch {
      return "";
    }
  }

  log(name: string): LogLine[] {
    return parseCriLog(this.logText(name));
  }

  async execSync(
    id: string,
    cmd: string[],
    timeoutSeconds = 30,
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const res: ExecSyncResponse = await this.#rt.execSync(
      { containerId: id, cmd, timeout: BigInt(timeoutSeconds) },
      (timeoutSeconds + 30) * 1000,
    );
    const text = new TextDecoder();
    return { stdout: text.decode(res.stdout), stderr: text.decode(res.stderr), exitCode: res.exitCode };
  }

  /**
   * What kubelet does when a pod is deleted: stop and remove its containers, then the sandbox, then
   * its cgroup and logs. `containersFirst: false` leaves stopping the containers to StopPodSandbox.
   */
  async remove(opts: { containersFirst?: boolean } = {}): Promise<void> {
    if (opts.containersFirst ?? true) {
      const { containers } = await this.#rt.listContainers({ filter: { podSandboxId: this.id } });
      // In parallel, as kubelet kills a pod's containers: a PID 1 that ignores SIGTERM costs the grace period once.
      await Promise.all(containers.map((c) => this.#rt.stopContainer({ containerId: c.id, timeout: 2n })));
      for (const c of containers) await this.#rt.removeContainer({ containerId: c.id });
    }
    await this.#rt.stopPodSandbox({ podSandboxId: this.id });
    await this.#rt.removePodSandbox({ podSandboxId: this.id });
    const leftInParent = containerCgroupsUnder(this.cgroupParent);
    if (leftInParent.length > 0)
      throw new Error(`pod ${this.name} removed but its cgroup parent still holds:\n${leftInParent.join("\n")}`);
    if (!removePodCgroup(this.cgroupParent)) throw new Error(`cannot remove the pod cgroup ${this.cgroupParent}`);
    rmSync(this.logDir, { recursive: true, force: true });
    this.#node.pods.delete(this);
  }
}

/** The PodSandboxConfig kubelet sends for a pod; containers get it again in CreateContainer. */
export function podConfig(
  name: string,
  uid: string,
  logDirectory: string,
  cgroupParent: string,
  network: NamespaceMode = NamespaceMode.NODE,
) {
  return {
    metadata: { name, uid, namespace: "default", attempt: 0 },
    // A host-network pod shares the host's UTS namespace, where runc may not set a hostname.
    hostname: "",
    logDirectory,
    labels: { "io.kubernetes.pod.name": name, "io.kubernetes.pod.uid": uid },
    linux: {
      cgroupParent,
      // kubelet's defaults for a pod without shareProcessNamespace: its own pid namespace per container.
      securityContext: { namespaceOptions: { network, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } },
    },
  };
}
