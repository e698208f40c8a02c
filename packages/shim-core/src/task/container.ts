import type { StdioOptions } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CreateTaskRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import { createHash } from "node:crypto";
import { compileCheck, type Engine, type Prepared } from "../engine.ts";
import type { Logger } from "../log.ts";
import { hostFailure, invalidArgument, isShimError, unimplemented } from "../errors.ts";
import { checkBundle, checkRootDirectory, readSpec, rootfsPath } from "../oci/bundle.ts";
import { readEntrypoint, type Entrypoint } from "../oci/entrypoint.ts";
import { hostRuntime } from "../oci/host-libs.ts";
import type { RootfsMounter } from "../oci/mount.ts";
import { runnerSpec } from "../oci/runner-spec.ts";
import { checkImports } from "../wasm/imports.ts";
import { CONTAINER_TYPE_ANNOTATION, type Spec } from "../oci/spec.ts";
import type { OciRuntime, OciRuntimeFactory, RuntimeChild } from "../runc/oci-runtime.ts";
import { embeddedAssetDirectory } from "../runtime/assets.ts";
import { nativeAddonFile } from "../runtime/native.ts";
import { closeLaunch, launchLayout, openPrepared, runnerFds, withRunnerFds, type RunnerLaunch } from "../wasm/runner-files.ts";
import { parseRuntimeOptions, type RuntimeOptions } from "./options.ts";
import { checkIdentifier } from "./identifiers.ts";
import { TaskProcess, type Launch } from "./process.ts";
import type { ExecPlan } from "./exec.ts";
import { checkStdio } from "./stdio.ts";
import { bundleFiles, type ShimState } from "./bundle-files.ts";
import { patchCwd } from "../wasm/cwd-patch.ts";
import { checkExport, withExport } from "../wasm/guest-entry.ts";
import { imageLookup, openRunnerFiles, resolveImageEntrypoint, type WasmImageQuery } from "../wasm/image-entrypoint.ts";
import { withPrecompiled } from "../wasm/precompiled.ts";

/** What Create needs from outside; the daemon hands in the real parts (cli/daemon.ts), unit tests fakes. */
export interface CreateContext {
  engine: Engine;
  /** runc's state root for this engine and namespace, unless the runtime options name one. */
  defaultRuncRoot: string;
  log: Logger;
  /** The OCI runtime for the runc options a Create selects (runc.ts's runcRuntime). */
  ociRuntime: OciRuntimeFactory;
  /** Mounts the snapshot containerd hands over as the rootfs (oci/mount.ts's hostMounter). */
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
  private readonly mounter: RootfsMounter | undefined;

  private constructor(fields: { id: string; bundle: string; spec: Spec; rootfs: string; entrypoint: Entrypoint; runtime: OciRuntime; runcBundle: string; init: TaskProcess; mounter?: RootfsMounter; runner?: RunnerLaunch }) {
    this.id = fields.id;
    this.bundle = fields.bundle;
    this.spec = fields.spec;
    this.rootfs = fields.rootfs;
    this.entrypoint = fields.entrypoint;
    this.runtime = fields.runtime;
    this.runcBundle = fields.runcBundle;
    this.init = fields.init;
    this.mounter = fields.mounter;
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
      const entrypoint = await resolveImageEntrypoint(rootfs, spec, () => imageIsWasm(ctx, req.id, spec), imageLookup(ctx.wasmImage, req.id, spec), ctx.log);
      const runtime = ctx.ociRuntime({ binary: options.runcBinary, root: options.runcRoot ?? ctx.defaultRuncRoot, systemdCgroup: options.systemdCgroup });
      let runcBundle = req.bundle;
      if (entrypoint.kind === "wasm") {
        const prepared = await prepareModule(ctx.engine, entrypoint, ctx.log, spec.process?.cwd);
        runner = await runnerLaunch(prepared, entrypoint);
        runcBundle = join(req.bundle, bundleFiles.runnerBundle);
        // Not recursive: should containerd have removed the bundle meanwhile (it restarted and
        // took this daemon for dead), Create must fail rather than bring the dir back.
        await mkdir(runcBundle, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "EEXIST") throw err;
        });
        await writeFile(join(runcBundle, "config.json"), JSON.stringify(runnerSpec(spec, rootfs, launchLayout(runner), entrypoint.path, prepared.data)));
      }
      const state: ShimState = { runc: runtime.config, mountedRootfs: mounted };
      await writeFile(join(req.bundle, bundleFiles.state), JSON.stringify(state));
      const init = new TaskProcess(req.id, "", { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal });
      return new Container({ id: req.id, bundle: req.bundle, spec, rootfs, entrypoint, runtime, runcBundle, init, ...(mounted ? { mounter: ctx.mounter } : {}), ...(runner ? { runner } : {}) });
    } catch (err) {
      if (runner) closeLaunch(runner);
      if (mounted) await ctx.mounter.unmount(rootfs);
      throw err;
    }
  }

  /** How Start runs the init: `runc run` of the bundle; a Wasm container's runner gets its fds. */
  initLaunch(): Launch {
    const pidFile = this.file(bundleFiles.initPid);
    const log = this.file(bundleFiles.runcLog);
    const run = (stdio: StdioOptions, preserveFds = 0, consoleSocket?: string) => this.runtime.run(this.id, this.runcBundle, pidFile, log, stdio, preserveFds, consoleSocket);
    return { launch: this.runner ? withRunnerFds(this.runner, run) : (stdio, consoleSocket) => run(stdio, 0, consoleSocket), pidFile, lastError: () => this.runtime.lastError(log) };
  }

  /** How Start runs an exec: `runc exec` of the process `plan` names, written to the bundle; a runner (a Wasm command) gets its fds. */
  async execLaunch(execId: string, plan: ExecPlan): Promise<Launch> {
    const { spec, pid: pidFile } = this.execFiles(execId);
    const log = this.file(bundleFiles.runcLog);
    await writeFile(spec, JSON.stringify(plan.process));
    const exec = (stdio: StdioOptions, preserveFds = 0, consoleSocket?: string): RuntimeChild => this.runtime.exec(this.id, spec, pidFile, log, stdio, preserveFds, consoleSocket);
    return { launch: plan.runner ? withRunnerFds(plan.runner, exec) : (stdio, consoleSocket) => exec(stdio, 0, consoleSocket), pidFile, lastError: () => this.runtime.lastError(log) };
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

  private runcRemoval: Promise<void> | undefined;

  /**
   * runc's stopped container (and its cgroup) goes once; the exit handler and Delete share it. A
   * failure is not remembered: the next call (a retried Delete) tries again.
   */
  removeFromRunc(): Promise<void> {
    this.runcRemoval ??= this.runtime.delete(this.id).catch((err: unknown) => {
      this.runcRemoval = undefined;
      throw err;
    });
    return this.runcRemoval;
  }

  /**
   * Undo Create: whatever runc left, the rootfs mount, the runner's config. Safe to repeat;
   * containerd removes the bundle. When runc cannot remove the container this throws and keeps
   * the mount, so that Delete fails, containerd keeps the task, and a retry can finish the job.
   */
  async destroy(): Promise<void> {
    if (this.runner) closeLaunch(this.runner);
    await this.removeFromRunc();
    await this.mounter?.unmount(this.rootfs);
    await rm(join(this.bundle, bundleFiles.runnerBundle), { recursive: true, force: true });
  }
}

/** Validates the module (a clear error at Create, not a crash at Start) and lets the engine prepare it. */
export async function prepareModule(engine: Engine, entry: Entrypoint, log: Logger, cwd = "/"): Promise<Prepared> {
  const bytes = await readEntrypoint(entry);
  // The runner applies the same patch at Start; only here can the reason it could not reach the log.
  if (cwd !== "/") log.info(`working directory ${cwd}: ${patchCwd(bytes, cwd).note}`, { module: entry.path });
  try {
    const prepared = await withPrecompiled(entry, { engine, log }, async (precompiled, wantsCompiled) => {
      // A trusted precompiled form of this very module was made after these checks passed.
      if (!precompiled) await (engine.validate ?? compileCheck)(bytes, entry.path);
      if (!precompiled) await checkImports(engine, bytes, entry.path);
      checkExport(engine, bytes, entry);
      if (!engine.prepare) return {};
      const digest = createHash("sha256").update(bytes).digest("hex");
      return engine.prepare({ module: bytes, path: entry.path, digest, log: (msg) => log.info(msg, { module: entry.path }), wantsCompiled, ...(precompiled?.length ? { precompiled } : {}) });
    });
    return withExport(prepared, entry);
  } catch (err) {
    throw isShimError(err) ? err : (hostFailure(err) ?? invalidArgument((err as Error).message));
  }
}

/** The runner's files (opened once per daemon) and the files `prepare` named (and a Wasm layer), opened for this one process. */
export async function runnerLaunch(prepared: Prepared, entry?: Entrypoint): Promise<RunnerLaunch> {
  const fds = await runnerFds(hostRuntime(), embeddedAssetDirectory(), nativeAddonFile());
  const files = await openRunnerFiles(prepared.files, entry, openPrepared);
  return files ? { fds, files } : { fds };
}

async function imageIsWasm(ctx: CreateContext, id: string, spec: Spec): Promise<boolean> {
  // A pod's sandbox is the pause image: not worth four round trips to containerd on every pod start.
  if (!ctx.imageArchitecture || spec.annotations?.[CONTAINER_TYPE_ANNOTATION] === "sandbox") return false;
  try {
    return (await ctx.imageArchitecture(id)) === "wasm";
  } catch (err) {
    ctx.log.debug("cannot read the image config", { id, error: (err as Error).message });
    return false;
  }
}
