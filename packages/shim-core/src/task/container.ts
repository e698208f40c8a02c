import type { StdioOptions } from "node:child_process";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CreateTaskRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import type { Logger } from "../log.ts";
import { unimplemented } from "../errors.ts";
import { checkBundle, checkRootDirectory, readSpec, rootfsPath } from "../oci/bundle.ts";
import type { RootfsMounter } from "../oci/mount.ts";
import type { Spec } from "../oci/spec.ts";
import type { OciRuntime, OciRuntimeFactory, RuntimeChild } from "../runc/oci-runtime.ts";
import type { Engine } from "../wasm/engine.ts";
import type { Entrypoint } from "../wasm/entrypoint.ts";
import { imageLookup, resolveImageEntrypoint, type WasmImageQuery } from "../wasm/image-entrypoint.ts";
import { imageIsWasm, prepareWasmContainer } from "../wasm/prepare.ts";
import { closeLaunch, withRunnerFds, type RunnerLaunch } from "../wasm/runner-files.ts";
import { bundleFiles, writeShimState } from "./bundle-files.ts";
import type { ExecPlan } from "./exec-plan.ts";
import { checkIdentifier } from "./identifiers.ts";
import { parseRuntimeOptions, type RuntimeOptions } from "./options.ts";
import { TaskProcess, type Launch, type WindowSize } from "./process.ts";
import { checkStdio } from "./stdio.ts";

/** What Create needs from outside; the daemon hands in the real parts (cli/daemon.ts), unit tests fakes. */
export interface CreateContext {
  engine: Engine;
  /** runc's state root for this engine and namespace, unless the runtime options name one. */
  defaultRuncRoot: string;
  log: Logger;
  /** The OCI runtime for the runc options a Create selects (runc.ts's runcRuntime). */
  ociRuntime: OciRuntimeFactory;
  /** Mounts the snapshot containerd hands over as the rootfs (oci/host-mounter.ts). */
  mounter: RootfsMounter;
  /**
   * The architecture the container's image config names, asked of containerd when the entrypoint
   * alone does not tell whether it is Wasm. Without it (no containerd address) nobody is asked.
   */
  imageArchitecture?: (containerId: string) => Promise<string | undefined>;
  /** The container's image's Wasm layers (an OCI Wasm artifact), asked when the rootfs lacks the entrypoint. */
  wasmImage?: WasmImageQuery;
}

export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  readonly rootfs: string;
  readonly entrypoint: Entrypoint;
  readonly runtime: OciRuntime;
  /** Where runc finds config.json: the bundle itself for native containers, a rewritten copy for Wasm. */
  readonly runcBundle: string;
  readonly init: TaskProcess;
  readonly execs = new Map<string, TaskProcess>();
  /** For a Wasm container: what its runner process is handed at Start. */
  readonly runner: RunnerLaunch | undefined;
  /** Set when Create mounted the rootfs: Delete takes it off again. */
  readonly #mounter: RootfsMounter | undefined;

  private constructor(fields: {
    id: string;
    bundle: string;
    spec: Spec;
    rootfs: string;
    entrypoint: Entrypoint;
    runtime: OciRuntime;
    runcBundle: string;
    init: TaskProcess;
    mounter?: RootfsMounter;
    runner?: RunnerLaunch;
  }) {
    this.id = fields.id;
    this.bundle = fields.bundle;
    this.spec = fields.spec;
    this.rootfs = fields.rootfs;
    this.entrypoint = fields.entrypoint;
    this.runtime = fields.runtime;
    this.runcBundle = fields.runcBundle;
    this.init = fields.init;
    this.#mounter = fields.mounter;
    this.runner = fields.runner;
  }

  get isWasm(): boolean {
    return this.entrypoint.kind === "wasm";
  }

  file(name: string): string {
    return join(this.bundle, name);
  }

  /** Create: mount the rootfs, classify the entrypoint, prepare what runc will run. Nothing runs yet. */
  static async create(req: CreateTaskRequest, ctx: CreateContext): Promise<Container> {
    if (req.checkpoint || req.parentCheckpoint) throw unimplemented("checkpoint/restore is not supported by this shim");
    checkIdentifier(req.id, "container id");
    await checkBundle(req.bundle);
    const spec = await readSpec(req.bundle);
    const options: RuntimeOptions = parseRuntimeOptions(req.options);
    await checkStdio(req);
    const mounted = req.rootfs.length > 0;
    const rootfs = mounted ? join(req.bundle, "rootfs") : rootfsPath(req.bundle, spec);
    if (mounted) await ctx.mounter.mount(req.rootfs, rootfs);
    else await checkRootDirectory(rootfs);
    let runner: RunnerLaunch | undefined;
    try {
      const entrypoint = await resolveImageEntrypoint(
        rootfs,
        spec,
        () => imageIsWasm(ctx.imageArchitecture, req.id, spec, ctx.log),
        imageLookup(ctx.wasmImage, req.id, spec),
        ctx.log,
      );
      const runtime = ctx.ociRuntime({
        binary: options.runcBinary,
        root: options.runcRoot ?? ctx.defaultRuncRoot,
        systemdCgroup: options.systemdCgroup,
      });
      let runcBundle = req.bundle;
      if (entrypoint.kind === "wasm") {
        runcBundle = join(req.bundle, bundleFiles.runnerBundle);
        runner = await prepareWasmContainer(ctx.engine, entrypoint, spec, rootfs, runcBundle, ctx.log);
      }
      await writeShimState(req.bundle, { runc: runtime.config, mountedRootfs: mounted });
      const init = new TaskProcess(req.id, "", {
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
        terminal: req.terminal,
      });
      return new Container({
        id: req.id,
        bundle: req.bundle,
        spec,
        rootfs,
        entrypoint,
        runtime,
        runcBundle,
        init,
        ...(mounted ? { mounter: ctx.mounter } : {}),
        ...(runner ? { runner } : {}),
      });
    } catch (err) {
      if (runner) closeLaunch(runner);
      if (mounted) await ctx.mounter.unmount(rootfs);
      throw err;
    }
  }

  /** How Start runs the init: `runc run` of the bundle; a Wasm container's runner gets its fds. */
  async initLaunch(size?: WindowSize): Promise<Launch> {
    if (size) await this.#setConsoleSize(size);
    const pidFile = this.file(bundleFiles.initPid);
    const log = this.file(bundleFiles.runcLog);
    const run = (stdio: StdioOptions, preserveFds = 0, consoleSocket?: string) =>
      this.runtime.run(this.id, this.runcBundle, pidFile, log, stdio, preserveFds, consoleSocket);
    return {
      launch: this.runner ? withRunnerFds(this.runner, run) : (stdio, consoleSocket) => run(stdio, 0, consoleSocket),
      pidFile,
      lastError: () => this.runtime.lastError(log),
    };
  }

  /** How Start runs an exec: `runc exec` of the process `plan` names, written to the bundle; a runner (a Wasm command) gets its fds. */
  async execLaunch(execId: string, plan: ExecPlan, size?: WindowSize): Promise<Launch> {
    const { spec, pid: pidFile } = this.execFiles(execId);
    const log = this.file(bundleFiles.runcLog);
    await writeFile(spec, JSON.stringify(size ? { ...plan.process, consoleSize: size } : plan.process));
    const exec = (stdio: StdioOptions, preserveFds = 0, consoleSocket?: string): RuntimeChild =>
      this.runtime.exec(this.id, spec, pidFile, log, stdio, preserveFds, consoleSocket);
    return {
      launch: plan.runner ? withRunnerFds(plan.runner, exec) : (stdio, consoleSocket) => exec(stdio, 0, consoleSocket),
      pidFile,
      lastError: () => this.runtime.lastError(log),
    };
  }

  /** The init's first terminal size, in the config.json `runc run` reads (replaced whole, never half-written). */
  async #setConsoleSize(size: WindowSize): Promise<void> {
    const spec = await readSpec(this.runcBundle);
    if (!spec.process) return;
    spec.process.consoleSize = size;
    const path = join(this.runcBundle, "config.json");
    await writeFile(`${path}.tmp`, JSON.stringify(spec));
    await rename(`${path}.tmp`, path);
  }

  /** The process spec runc exec reads and the pid file it writes, one pair per exec in the bundle. */
  execFiles(execId: string): { spec: string; pid: string } {
    return { spec: this.file(`exec-${execId}.json`), pid: this.file(`exec-${execId}.pid`) };
  }

  /** Probes exec every few seconds for the pod's whole life: their files must not pile up in /run. */
  async removeExecFiles(execId: string): Promise<void> {
    await Promise.all(Object.values(this.execFiles(execId)).map((f) => rm(f, { force: true })));
  }

  /**
   * When the init is deleted or forgotten: execs still running get SIGKILL (one that exited
   * meanwhile is no reason to fail), ones never started end for whoever waits on them.
   */
  endExecs(): void {
    for (const e of this.execs.values()) {
      if (e.state === "created") e.finish(137);
      if (!e.running) continue;
      try {
        this.runtime.signal(e.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  #runcRemoval: Promise<void> | undefined;

  /**
   * runc's stopped container (and its cgroup) goes once; the exit handler and Delete share it. A
   * failure is not remembered: the next call (a retried Delete) tries again.
   */
  removeFromRunc(): Promise<void> {
    this.#runcRemoval ??= this.runtime.delete(this.id).catch((err: unknown) => {
      this.#runcRemoval = undefined;
      throw err;
    });
    return this.#runcRemoval;
  }

  /**
   * Undo Create: whatever runc left, the rootfs mount, the runner's config. Safe to repeat;
   * containerd removes the bundle. When runc cannot remove the container this throws and keeps
   * the mount, so that Delete fails, containerd keeps the task, and a retry can finish the job.
   */
  async destroy(): Promise<void> {
    if (this.runner) closeLaunch(this.runner);
    await this.removeFromRunc();
    // The Delete that called this records it in `shim-deleted` (service.ts): the `delete` that
    // containerd runs once the daemon has gone then reads no mount table.
    if (this.#mounter) await this.#mounter.unmount(this.rootfs);
    await rm(join(this.bundle, bundleFiles.runnerBundle), { recursive: true, force: true });
  }
}
