import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CreateTaskRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import { createHash } from "node:crypto";
import { compileCheck, type Engine, type Prepared } from "../engine.ts";
import type { Logger } from "../log.ts";
import { invalidArgument, isShimError, unimplemented } from "../errors.ts";
import { imageArchitecture } from "../containerd/image-config.ts";
import { checkBundle, checkRootDirectory, readSpec, rootfsPath } from "../oci/bundle.ts";
import { resolveEntrypoint, type Entrypoint } from "../oci/entrypoint.ts";
import { hostRuntime } from "../oci/host-libs.ts";
import { mountRootfs, unmountAll } from "../oci/mount.ts";
import { runnerSpec } from "../oci/runner-spec.ts";
import { CONTAINER_TYPE_ANNOTATION, type Spec } from "../oci/spec.ts";
import { Runc } from "../runc/runc.ts";
import { embeddedAssetDirectory } from "../runtime/assets.ts";
import { parseRuntimeOptions, type RuntimeOptions } from "./options.ts";
import { checkIdentifier } from "./identifiers.ts";
import { TaskProcess } from "./process.ts";
import { checkStdio } from "./stdio.ts";
import { bundleFiles, type ShimState } from "./state.ts";

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
  private readonly mountedRootfs: boolean;

  private constructor(fields: { id: string; bundle: string; spec: Spec; rootfs: string; entrypoint: Entrypoint; runc: Runc; runcBundle: string; init: TaskProcess; mountedRootfs: boolean }) {
    this.id = fields.id;
    this.bundle = fields.bundle;
    this.spec = fields.spec;
    this.rootfs = fields.rootfs;
    this.entrypoint = fields.entrypoint;
    this.runc = fields.runc;
    this.runcBundle = fields.runcBundle;
    this.init = fields.init;
    this.mountedRootfs = fields.mountedRootfs;
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
    try {
      const entrypoint = await resolveEntrypoint(rootfs, spec, () => imageIsWasm(ctx, req.id, spec));
      const runc = new Runc({ binary: options.runcBinary, root: options.runcRoot ?? ctx.defaultRuncRoot, systemdCgroup: options.systemdCgroup });
      let runcBundle = req.bundle;
      if (entrypoint.kind === "wasm") {
        const prepared = await prepareModule(ctx.engine, entrypoint, ctx.log);
        runcBundle = join(req.bundle, bundleFiles.runnerBundle);
        await mkdir(runcBundle, { recursive: true, mode: 0o700 });
        await writeFile(join(runcBundle, "config.json"), JSON.stringify(runnerSpec(spec, rootfs, hostRuntime(), entrypoint.path, prepared, embeddedAssetDirectory())));
      }
      const state: ShimState = { runc: runc.config, mountedRootfs: mounted };
      await writeFile(join(req.bundle, bundleFiles.state), JSON.stringify(state));
      const init = new TaskProcess("", { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal });
      return new Container({ id: req.id, bundle: req.bundle, spec, rootfs, entrypoint, runc, runcBundle, init, mountedRootfs: mounted });
    } catch (err) {
      if (mounted) await unmountAll(rootfs);
      throw err;
    }
  }

  private runcRemoval: Promise<void> | undefined;

  /** runc's stopped container (and its cgroup) goes once; the exit handler and Delete share it. */
  removeFromRunc(): Promise<void> {
    return (this.runcRemoval ??= this.runc.delete(this.id));
  }

  /** Undo Create: whatever runc left, the rootfs mount, the runner's config. Safe to repeat; containerd removes the bundle. */
  async destroy(): Promise<void> {
    await this.removeFromRunc();
    if (this.mountedRootfs) await unmountAll(this.rootfs);
    await rm(join(this.bundle, bundleFiles.runnerBundle), { recursive: true, force: true });
  }
}

/** Validates the module (a clear error at Create, not a crash at Start) and lets the engine prepare it. */
export async function prepareModule(engine: Engine, entry: Entrypoint, log: Logger): Promise<Prepared> {
  const bytes = new Uint8Array(await readFile(entry.hostPath));
  try {
    await (engine.validate ?? compileCheck)(bytes, entry.path);
    if (!engine.prepare) return {};
    const digest = createHash("sha256").update(bytes).digest("hex");
    return await engine.prepare({ module: bytes, path: entry.path, digest, log: (msg) => log.info(msg, { module: entry.path }) });
  } catch (err) {
    throw isShimError(err) ? err : invalidArgument((err as Error).message);
  }
}

async function imageIsWasm(ctx: CreateContext, id: string, spec: Spec): Promise<boolean> {
  // A pod's sandbox is the pause image: not worth four round trips to containerd on every pod start.
  if (!ctx.containerdAddress || spec.annotations?.[CONTAINER_TYPE_ANNOTATION] === "sandbox") return false;
  try {
    return (await imageArchitecture(ctx.containerdAddress, ctx.namespace, id)) === "wasm";
  } catch (err) {
    ctx.log.debug("cannot read the image config", { id, error: (err as Error).message });
    return false;
  }
}
