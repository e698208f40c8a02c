import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { vi, type Mock } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import type { PackedEvent } from "../../src/events/sink.ts";
import { silentLogger } from "../../src/log.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { hostMounter } from "../../src/oci/host-mounter.ts";
import { runcRuntime } from "../../src/runc/runc.ts";
import { TaskService } from "../../src/task/service.ts";
import { busyboxBundle, removeBundles } from "./bundle.ts";

/** A TaskService on real runc with busybox bundles, for tests that call its handlers directly. */
export class RuncService {
  readonly runcRoot = mkdtempSync(join(tmpdir(), "runc-root-"));
  readonly events: { topic: string; event: PackedEvent }[] = [];
  readonly onShutdown: Mock<() => void> = vi.fn<() => void>();
  readonly svc: TaskService;
  #seq = 0;
  readonly #bundles: string[] = [];

  /** `ociRuntime`: runc, or a test's wrapper of it. */
  constructor(ociRuntime: typeof runcRuntime = runcRuntime) {
    this.svc = new TaskService({
      engine: { name: "test", version: "test", run: async () => 0 },
      ociRuntime,
      mounter: hostMounter,
      defaultRuncRoot: this.runcRoot,
      events: { publish: (topic, event) => this.events.push({ topic, event }) },
      log: silentLogger,
      onShutdown: this.onShutdown,
      socket: "/run/containerd/s/runc-service-test",
    });
  }

  /** A Create request for a busybox container running `args`, its bundle and its stdout file. */
  request(args: string[], tweak?: (spec: Spec) => void) {
    const id = `svc-${process.pid}-${Date.now() % 100_000}-${++this.#seq}`;
    const b = busyboxBundle(id, args, tweak);
    this.#bundles.push(b.bundle);
    writeFileSync(b.out, "");
    return {
      id,
      bundle: b.bundle,
      req: create(pb.CreateTaskRequestSchema, { id, bundle: b.bundle, stdout: `file://${b.out}` }),
    };
  }

  topics(): string[] {
    return this.events.map((e) => e.topic);
  }

  async close(): Promise<void> {
    for (const c of this.svc.containers.values()) await c.destroy();
    removeBundles(this.runcRoot, this.#bundles);
  }
}
