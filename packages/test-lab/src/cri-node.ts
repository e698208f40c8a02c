import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomUUID } from "node:crypto";
import { buildTestImages, writeOciImage, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "./containerd.ts";
import { CriClient, NamespaceMode } from "./cri-client.ts";
import { containerCgroupsUnder, removeCgroupsUnder } from "./cri-leftovers.ts";
import { PodNetwork } from "./cni.ts";
import { eventually } from "./eventually.ts";
import { Pod, podConfig } from "./cri-pod.ts";

export { parseCriLog, Pod, type ContainerSpec, type LogLine } from "./cri-pod.ts";

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
  /** Give containerd a CNI network of its own (see cni.ts), for pods run with `podNetwork`. */
  podNetwork?: boolean;
}

export const pauseImageRef = "localhost/busybox-pause:test";
export const criNamespace = "k8s.io";

const toml = (v: string | boolean) => (typeof v === "boolean" ? String(v) : JSON.stringify(v));

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
  /** The CNI network of pods run with `podNetwork`, when the node was started with one. */
  readonly network: PodNetwork | undefined;
  readonly #imageDir: string;

  private constructor(ctd: Containerd, images: TestImages, imageDir: string, network: PodNetwork | undefined) {
    this.ctd = ctd;
    this.network = network;
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
    let network: PodNetwork | undefined;
    const ctd = await Containerd.start({
      shimDir: opts.shimDir,
      cri: true,
      runtimes,
      sandboxImage: pauseImageRef,
      namespace: criNamespace,
      editConfig: (file) => {
        appendFileSync(file, runtimeOptions(opts.runtimes) + (opts.extraConfig ?? ""));
        // The config names `<dir>/cni/{conf,bin}`; CRI reads them when it starts.
        if (opts.podNetwork) network = PodNetwork.create(join(dirname(file), "cni"));
      },
      ...(opts.env ? { env: opts.env } : {}),
    });
    try {
      for (const tarball of [images.fixtures.tarball, images.busybox.tarball, pause])
        await ctd.importImage(tarball, criNamespace);
    } catch (e) {
      await ctd.stop();
      (network as PodNetwork | undefined)?.remove();
      throw e;
    }
    return new CriNode(ctd, images, imageDir, network);
  }

  /**
   * RunPodSandbox through `handler`, with the fields kubelet fills for a host-network pod, or with
   * `podNetwork` for a pod in a network namespace of its own (the node needs a pod network).
   */
  async runPod(
    name: string,
    handler: string,
    opts: { sysctls?: Record<string, string>; podNetwork?: boolean } = {},
  ): Promise<Pod> {
    if (opts.podNetwork && !this.network) throw new Error("runPod: podNetwork needs a node started with podNetwork");
    const uid = randomUUID();
    const logDir = join(this.ctd.dir, "pods", `default_${name}_${uid}`);
    mkdirSync(logDir, { recursive: true });
    const config = podConfig(
      name,
      uid,
      logDir,
      `${this.cgroupRoot}/pod${uid}`,
      opts.podNetwork ? NamespaceMode.POD : NamespaceMode.NODE,
    );
    if (opts.sysctls) Object.assign(config.linux, { sysctls: opts.sysctls });
    const { podSandboxId } = await this.cri.runtime.runPodSandbox({ config, runtimeHandler: handler });
    const pod = new Pod(this, podSandboxId, config);
    this.pods.add(pod);
    if (opts.podNetwork) this.network!.netns.add(await this.netnsPath(podSandboxId));
    return pod;
  }

  /** The network namespace containerd made for a sandbox, from its verbose status (the OCI spec it ran). */
  async netnsPath(podSandboxId: string): Promise<string> {
    const { info } = await this.cri.runtime.podSandboxStatus({ podSandboxId, verbose: true });
    const spec = JSON.parse(info.info ?? "{}") as {
      runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
    };
    const path = spec.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path;
    if (!path) throw new Error(`sandbox ${podSandboxId} has no network namespace path in its status`);
    return path;
  }

  /** What the harness finds, plus container cgroups under our pod parents and pod log directories. */
  async leftovers(): Promise<string[]> {
    const parents = new Set([...this.pods].map((p) => p.cgroupParent));
    const found = [
      ...(await this.ctd.leftovers()),
      ...containerCgroupsUnder(this.cgroupRoot, parents),
      ...(this.network?.leftovers() ?? []),
    ];
    for (const p of this.pods) found.push(`pod ${p.name} (${p.id}) not removed`);
    return found;
  }

  /**
   * Restarts containerd (shims and their tasks keep running) and waits until CRI answers, as
   * kubelet waits by retrying: CRI loads its containers after the daemon's socket is up and until
   * then answers every call with "server is not initialized yet". Under a CI run's load that took
   * long enough for the next call to meet it. `SIGKILL` makes it a crash: nothing containerd was
   * doing is finished or cleaned up.
   */
  async restart(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    await this.ctd.down(signal);
    await this.ctd.up();
    await eventually(() => this.cri.runtime.listContainers({}), 60_000);
  }

  async stop(): Promise<void> {
    this.cri.close();
    await this.ctd.stop();
    this.network?.remove();
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
