import type { ChildProcess, StdioOptions } from "node:child_process";
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
import { mountRootfs, unmountAll } from "../oci/mount.ts";
import { runnerSpec } from "../oci/runner-spec.ts";
import { checkImports } from "../wasm/imports.ts";
import type { Spec } from "../oci/spec.ts";
import { Runc } from "../runc/runc.ts";
import { embeddedAssetDirectory } from "../runtime/assets.ts";
import { closeLaunch, launchLayout, openPrepared, runnerFds, withRunnerFds, type RunnerLaunch } from "../wasm/runner-files.ts";
import { parseRuntimeOptions, type RuntimeOptions } from "./options.ts";
import { checkIdentifier } from "./identifiers.ts";
import { TaskProcess } from "./process.ts";
import { checkStdio } from "./stdio.ts";
import { bundleFiles, type ShimState } from "./state.ts";
import { patchCwd } from "../wasm/cwd-patch.ts";
import { checkExport, withExport } from "../wasm/guest-entry.ts";
import { imageLookup, openRunnerFiles, resolveImageEntrypoint } from "../wasm/image-entrypoint.ts";
import { withPrecompiled } from "../wasm/precompiled.ts";

export interface CreateContext {
  engine: Engine;
  namespace: string;
  /** runc's state root for this engine and namespace, unless the runtime options name one. */
  defaultRuncRoot: string;
  log: Logger;
  /** containerd's gRPC socket, to read the image's config when the entrypoint alone does not tell. */
  containerdAddress?: string;
}

export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly spec: Spec;
  readonly rootfs: string;
  readonly entrypoint: Entrypoint;
  readonly runc: Runc;
  /** Where runc finds config.json: the bundle itself for native containers, a rewritten copy for Wasm. */
  readonly runcBundle: string;
  readonly init: TaskProcess;
  readonly execs = new Map<string, TaskProcess>();
  /** For a Wasm container: what its runner process is handed at Start. */
  readonly runner: RunnerLaunch | undefined;
  private readonly mountedRootfs: boolean;

  private constructor(fields: { id: string; bundle: string; spec: Spec; rootfs: string; entrypoint: Entrypoint; runc: Runc; runcBundle: string; init: TaskProcess; mountedRootfs: boolean; runner?: RunnerLaunch }) {
    this.id = fields.id;
    this.bundle = fields.bundle;
    this.spec = fields.spec;
    this.rootfs = fields.rootfs;
    this.entrypoint = fields.entrypoint;
    this.runc = fields.runc;
    this.runcBundle = fields.runcBundle;
    this.init = fields.init;
    this.mountedRootfs = fields.mountedRootfs;
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
    if (req.terminal) throw invalidArgument("terminals (tty) are not supported by this shim");
    if (req.checkpoint || req.parentCheckpoint) throw unimplemented("checkpoint/restore is not supported by this shim");
    checkIdentifier(req.id, "container id");
    await checkBundle(req.bundle);
    const spec = await readSpec(req.bundle);
    const options: RuntimeOptions = parseRuntimeOptions(req.options);
    await checkStdio(req);
    const mounted = req.rootfs.length > 0;
    const rootfs = mounted ? join(req.bundle, "rootfs") : rootfsPath(req.bundle, spec);
    if (mounted) await mountRootfs(req.rootfs, rootfs);
    else await checkRootDirectory(rootfs);
    let runner: RunnerLaunch | undefined;
    try {
      const entrypoint = await resolveImageEntrypoint(rootfs, spec, imageLookup(ctx, req.id, spec), ctx.log);
      const runc = new Runc({ binary: options.runcBinary, root: options.runcRoot ?? ctx.defaultRuncRoot, systemdCgroup: options.systemdCgroup });
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
      const state: ShimState = { runc: runc.config, mountedRootfs: mounted };
      await writeFile(join(req.bundle, bundleFiles.state), JSON.stringify(state));
      const init = new TaskProcess("", { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal });
      return new Container({ id: req.id, bundle: req.bundle, spec, rootfs, entrypoint, runc, runcBundle, init, mountedRootfs: mounted, ...(runner ? { runner } : {}) });
    } catch (err) {
      if (runner) closeLaunch(runner);
      if (mounted) await unmountAll(rootfs);
      throw err;
    }
  }

  /** `runc run` of the init process; a Wasm container's runner gets its fds. */
  launchInit(pidFile: string, logFile: string): (stdio: StdioOptions) => ChildProcess {
    const run = (stdio: StdioOptions, preserveFds = 0) => this.runc.run(this.id, this.runcBundle, pidFile, logFile, stdio, preserveFds);
    return this.runner ? withRunnerFds(this.runner, run) : run;
  }

  /** `runc exec` of `processFile`; a runner (a Wasm command) gets its fds. */
  launchExec(processFile: string, pidFile: string, logFile: string, runner?: RunnerLaunch): (stdio: StdioOptions) => ChildProcess {
    const exec = (stdio: StdioOptions, preserveFds = 0) => this.runc.exec(this.id, processFile, pidFile, logFile, stdio, preserveFds);
    return runner ? withRunnerFds(runner, exec) : exec;
  }

  private runcRemoval: Promise<void> | undefined;

  /**
   * runc's stopped container (and its cgroup) goes once; the exit handler and Delete share it. A
   * failure is not remembered: the next call (a retried Delete) tries again.
   */
  removeFromRunc(): Promise<void> {
    this.runcRemoval ??= this.runc.delete(this.id).catch((err: unknown) => {
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
    if (this.mountedRootfs) await unmountAll(this.rootfs);
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
  const fds = await runnerFds(hostRuntime(), embeddedAssetDirectory());
  const files = await openRunnerFiles(prepared.files, entry, openPrepared);
  return files ? { fds, files } : { fds };
}
