import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { fromBinary } from "@bufbuild/protobuf";
import * as ev from "../../src/gen/containerd/events/task_pb.ts";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Code, type ShimError } from "../../src/errors.ts";
import type { PackedEvent } from "../../src/events/sink.ts";
import { silentLogger } from "../../src/log.ts";
import type { RootfsMount, RootfsMounter } from "../../src/oci/mount.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { TaskService } from "../../src/task/service.ts";
import { FakeRuntime } from "./fake-runtime.ts";

/** A mounter that copies a bind mount's source instead of mounting it, and remembers what is "mounted". */
export class FakeMounter implements RootfsMounter {
  readonly mounted = new Set<string>();
  readonly calls: string[] = [];

  async mount(mounts: readonly RootfsMount[], target: string): Promise<void> {
    this.calls.push(`mount ${mounts.map((m) => m.type).join(",")}`);
    await mkdir(target, { recursive: true });
    for (const m of mounts) cpSync(m.source, target, { recursive: true });
    this.mounted.add(target);
  }

  async unmount(target: string): Promise<void> {
    this.calls.push("unmount");
    this.mounted.delete(target);
  }
}

/** A root filesystem with one native executable, /bin/app (a #! script: classified native, never run). */
export function appRoot(dir: string): string {
  mkdirSync(join(dir, "bin"), { recursive: true });
  writeFileSync(join(dir, "bin/app"), "#!/bin/sh\nexit 0\n");
  chmodSync(join(dir, "bin/app"), 0o755);
  return dir;
}

/**
 * A TaskService on a fake runtime and mounter, with bundles in a scratch directory: what the
 * handlers do, without root, runc or containerd. `events` is what was published, in order.
 */
export class UnitShim {
  readonly dir = mkdtempSync(join(tmpdir(), "shim-unit-"));
  readonly runtime = new FakeRuntime();
  readonly mounter = new FakeMounter();
  readonly events: { topic: string; event: PackedEvent }[] = [];
  /** Image architectures by container id, as containerd's image config would say. */
  readonly architectures = new Map<string, string>();
  shutdowns = 0;
  readonly svc = new TaskService({
    engine: { name: "test", version: "test", run: async () => 0 },
    defaultRuncRoot: join(this.dir, "runc"),
    log: silentLogger,
    ociRuntime: this.runtime.factory,
    mounter: this.mounter,
    imageArchitecture: async (id) => this.architectures.get(id),
    events: { publish: (topic, event) => this.events.push({ topic, event }) },
    onShutdown: () => this.shutdowns++,
  });
  #seq = 0;

  /** A Create request for a bundle whose spec runs `args` in a root made by appRoot. */
  request(
    args: string[] = ["/bin/app"],
    tweak: (spec: Spec) => void = () => {},
  ): { id: string; bundle: string; req: pb.CreateTaskRequest } {
    const id = `c${++this.#seq}`;
    const bundle = join(this.dir, id);
    appRoot(join(bundle, "root"));
    const spec: Spec = {
      ociVersion: "1.0.2",
      process: { args, cwd: "/", env: ["PATH=/bin"] },
      root: { path: "root" },
    } as Spec;
    tweak(spec);
    writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
    return { id, bundle, req: create(pb.CreateTaskRequestSchema, { id, bundle }) };
  }

  /** Create and Start: a running task. */
  async running(args?: string[]): Promise<string> {
    const { id, req } = this.request(args);
    await this.svc.create(req);
    await this.svc.start(create(pb.StartRequestSchema, { id }));
    return id;
  }

  /** Adds exec `execId` to task `id`, running /bin/app. */
  async exec(id: string, execId: string): Promise<void> {
    const spec = {
      $typeName: "google.protobuf.Any" as const,
      typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
      value: new TextEncoder().encode(JSON.stringify({ args: ["/bin/app"], cwd: "/" })),
    };
    await this.svc.exec(create(pb.ExecProcessRequestSchema, { id, execId, spec }));
  }

  async status(id: string, execId = ""): Promise<number> {
    return (await this.svc.state(create(pb.StateRequestSchema, { id, execId }))).status ?? -1;
  }

  topics(): string[] {
    return this.events.map((e) => e.topic.replace("/tasks/", ""));
  }

  /** The exit statuses TaskExit reported, as "id=status" (id is the exec id for an exec). */
  exits(): string[] {
    return this.events
      .filter((e) => e.topic === "/tasks/exit")
      .map((e) => fromBinary(ev.TaskExitSchema, e.event.value))
      .map((x) => `${x.id}=${x.exitStatus}`);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The wire code a handler's promise ends with: OK, or its ShimError's code. */
export async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    return (err as ShimError).code ?? -1;
  }
  return Code.OK;
}

/** Lets pending callbacks (a fake child's exit, the shim's handling of it) run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
