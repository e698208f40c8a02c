import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeEach, expect } from "vitest";
import * as pb from "../../src/gen/containerd/task/v2/shim_pb.ts";
import { Code, type ShimError } from "../../src/errors.ts";
import { silentLogger } from "../../src/log.ts";
import { hostMounter } from "../../src/oci/host-mounter.ts";
import { runcRuntime } from "../../src/runc/runc.ts";
import { TaskService } from "../../src/task/service.ts";
import { readMounts } from "@wasm-shims/test-lab/procfs.ts";
import { busyboxBundle, removeBundles } from "./bundle.ts";

type Tweak = Parameters<typeof busyboxBundle>[2];

/**
 * TaskServices on real runc for hostile and broken requests, with busybox bundles, and the check
 * each test ends with: nothing of a refused request stays behind.
 */
export class HostileService {
  readonly runcRoot = mkdtempSync(join(tmpdir(), "runc-root-"));
  /** Every bundle made (and any path a test adds beside one): mounts under them must be gone, and so must they. */
  readonly bundles: string[] = [];
  #seq = 0;

  /**
   * The hooks every hostile suite runs: a fresh service per test (handed to `use`), the check that
   * nothing of a refused request stayed, and the cleanup at the end.
   */
  hooks(use: (svc: TaskService) => void): void {
    let svc: TaskService;
    beforeEach(() => {
      svc = this.service();
      use(svc);
    });
    afterEach(() => this.leftNothing(svc));
    afterAll(() => this.close());
  }

  /** A fresh service, publishing nowhere. */
  service(): TaskService {
    return new TaskService({
      engine: { name: "test", version: "test", run: async () => 0 },
      ociRuntime: runcRuntime,
      mounter: hostMounter,
      defaultRuncRoot: this.runcRoot,
      events: { publish: () => {} },
      log: silentLogger,
      onShutdown: () => {},
    });
  }

  /** A Create request for a busybox container running `args`, with its bundle and its stdout file. */
  request = (args: string[] = ["/bin/busybox", "true"], tweak?: Tweak) => {
    const id = `hostile-${process.pid}-${++this.#seq}`;
    const b = busyboxBundle(id, args, tweak);
    this.bundles.push(b.bundle);
    return {
      id,
      bundle: b.bundle,
      out: b.out,
      req: create(pb.CreateTaskRequestSchema, { id, bundle: b.bundle, stdout: `file://${b.out}` }),
    };
  };

  /** No container in the shim or in runc, no mount. */
  async leftNothing(svc: TaskService): Promise<void> {
    for (const c of svc.containers.values()) await c.destroy();
    expect(svc.containers.size).toBe(0);
    expect(readdirSync(this.runcRoot)).toEqual([]);
    expect(readMounts().filter((m) => this.bundles.some((b) => m.target.startsWith(b)))).toEqual([]);
  }

  close(): void {
    removeBundles(this.runcRoot, this.bundles);
  }
}

/** `p` fails with INVALID_ARGUMENT and a message matching `message`. */
export async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: ShimError) => e,
  );
  expect(err, "the request was accepted").toBeDefined();
  expect(err!.message).toMatch(message);
  expect(err!.code).toBe(Code.INVALID_ARGUMENT);
}
