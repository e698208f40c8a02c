import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { buildTestImages, writeOciImage, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "./containerd.ts";
import { ContainerState, CriClient, NamespaceMode, type ContainerStatus, type ExecSyncResponse } from "./cri-client.ts";
import { containerCgroupsUnder, removeCgroupsUnder, removePodCgroup } from "./cri-leftovers.ts";

/** A CRI runtime handler: its runtime_type and, optionally, the `options` table of config.toml. */
export interface CriRuntime {
  type: string;
  options?: Record<string, string | boolean>;
}

export interface CriNodeOptions {
  /** A folder of containerd-shim-*-v1 binaries. */
  shimDir: string;
  /** Handler name → runtime. */
  runtimes: Record<string, CriRuntime>;
  /** Extra environment for containerd and so for the shims (e.g. a private cache dir). */
  env?: Record<string, string>;
  /** More config.toml, appended (e.g. plainHttpMirror from registry.ts). */
  extraConfig?: string;
}

export const pauseImageRef = "localhost/busybox-pause:test";
export const criNamespace = "k8s.io";

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

const toml = (v: string | boolean) => (typeof v === "boolean" ? String(v) : JSON.stringify(v));

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
 * One pod as kubelet runs it: host network (no CNI here), its own log directory and cgroup parent.
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
        throw new Error(`container ${s.metadata?.name} exited (${s.exitCode}, ${s.reason}: ${s.message}) instead of reaching ${ContainerState[state]}; log:\n${this.logText(s.metadata?.name ?? "")}`);
      }
      if (Date.now() > deadline) throw new Error(`container ${s.metadata?.name} still ${ContainerState[s.state]} after ${timeoutMs} ms`);
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

  async execSync(id: string, cmd: string[], timeoutSeconds = 30): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const res: ExecSyncResponse = await this.#rt.execSync({ containerId: id, cmd, timeout: BigInt(timeoutSeconds) }, (timeoutSeconds + 30) * 1000);
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
    if (leftInParent.length > 0) throw new Error(`pod ${this.name} removed but its cgroup parent still holds:\n${leftInParent.join("\n")}`);
    if (!removePodCgroup(this.cgroupParent)) throw new Error(`cannot remove the pod cgroup ${this.cgroupParent}`);
    rmSync(this.logDir, { recursive: true, force: true });
    this.#node.pods.delete(this);
  }
}

/** The PodSandboxConfig kubelet sends for a host-network pod; containers get it again in CreateContainer. */
function podConfig(name: string, uid: string, logDirectory: string, cgroupParent: string) {
  return {
    metadata: { name, uid, namespace: "default", attempt: 0 },
    // A host-network pod shares the host's UTS namespace, where runc may not set a hostname.
    hostname: "",
    logDirectory,
    labels: { "io.kubernetes.pod.name": name, "io.kubernetes.pod.uid": uid },
    linux: {
      cgroupParent,
      // kubelet's defaults for a pod without shareProcessNamespace: its own pid namespace per container.
      securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } },
    },
  };
}

/**
 * A node as far as CRI sees it: a private containerd with the CRI plugin, test images in k8s.io,
 * a CRI client, and kubelet's part of pod lifecycle (cgroup parents, log directories).
 */
export class CriNode {
  readonly ctd: Containerd;
  readonly cri: CriClient;
  readonly images: TestImages;
  readonly pods = new Set<Pod>();
  /** The cgroup that plays kubelet's `/kubepods` for this node. */
  readonly cgroupRoot: string;
  readonly #imageDir: string;

  private constructor(ctd: Containerd, images: TestImages, imageDir: string) {
    this.ctd = ctd;
    this.images = images;
    this.#imageDir = imageDir;
    this.cri = new CriClient(ctd.socket);
    this.cgroupRoot = `/wasm-shims-cri-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  static async start(opts: CriNodeOptions): Promise<CriNode> {
    const imageDir = mkdtempSync(join(tmpdir(), "cri-images-"));
    const images = await buildTestImages(imageDir);
    const pause = join(imageDir, "pause.tar");
    // Any native process that waits for ever will do as the sandbox's "pause" container.
    await writeOciImage(pause, {
      ref: pauseImageRef,
      files: [{ path: "/bin/busybox", source: "/bin/busybox", mode: 0o755 }],
      symlinks: [{ path: "/bin/sleep", target: "busybox" }],
      entrypoint: ["/bin/sleep", "2147483647"],
    });
    const runtimes = Object.fromEntries(Object.entries(opts.runtimes).map(([h, r]) => [h, r.type]));
    const ctd = await Containerd.start({
      shimDir: opts.shimDir,
      cri: true,
      runtimes,
      sandboxImage: pauseImageRef,
      namespace: criNamespace,
      editConfig: (file) => appendFileSync(file, runtimeOptions(opts.runtimes) + (opts.extraConfig ?? "")),
      ...(opts.env ? { env: opts.env } : {}),
    });
    try {
      for (const tarball of [images.fixtures.tarball, images.busybox.tarball, pause]) await ctd.importImage(tarball, criNamespace);
    } catch (e) {
      await ctd.stop();
      throw e;
    }
    return new CriNode(ctd, images, imageDir);
  }

  /** RunPodSandbox through `handler`, with the fields kubelet fills for a host-network pod. */
  async runPod(name: string, handler: string, opts: { sysctls?: Record<string, string> } = {}): Promise<Pod> {
    const uid = randomUUID();
    const logDir = join(this.ctd.dir, "pods", `default_${name}_${uid}`);
    mkdirSync(logDir, { recursive: true });
    const config = podConfig(name, uid, logDir, `${this.cgroupRoot}/pod${uid}`);
    if (opts.sysctls) Object.assign(config.linux, { sysctls: opts.sysctls });
    const { podSandboxId } = await this.cri.runtime.runPodSandbox({ config, runtimeHandler: handler });
    const pod = new Pod(this, podSandboxId, config);
    this.pods.add(pod);
    return pod;
  }

  /** What the harness finds, plus container cgroups under our pod parents and pod log directories. */
  async leftovers(): Promise<string[]> {
    const parents = new Set([...this.pods].map((p) => p.cgroupParent));
    const found = [...(await this.ctd.leftovers()), ...containerCgroupsUnder(this.cgroupRoot, parents)];
    for (const p of this.pods) found.push(`pod ${p.name} (${p.id}) not removed`);
    return found;
  }

  async stop(): Promise<void> {
    this.cri.close();
    await this.ctd.stop();
    await removeCgroupsUnder(this.cgroupRoot);
    rmSync(this.#imageDir, { recursive: true, force: true });
  }
}

/** The harness writes only runtime_type; `options` tables go after it, as TOML allows a sub-table anywhere. */
function runtimeOptions(runtimes: Record<string, CriRuntime>): string {
  const lines: string[] = [];
  for (const [handler, r] of Object.entries(runtimes)) {
    if (!r.options) continue;
    lines.push(`[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${JSON.stringify(handler)}.options]`);
    for (const [k, v] of Object.entries(r.options)) lines.push(`  ${k} = ${toml(v)}`);
  }
  return lines.length > 0 ? `\n${lines.join("\n")}\n` : "";
}
