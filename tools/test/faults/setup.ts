import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { Containerd, type ContainerdOptions, type CtrResult } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { buildTestImages, type TestImages } from "@wasm-shims/test-fixtures";

export const binDir = fileURLToPath(new URL("../../../dist/bin", import.meta.url));
export const runtimeOf = (engine: string) => `io.containerd.${engine}.v1`;

/** A private containerd with the built shims and the test images, for one fault test file. */
export interface FaultEnv {
  ctd: Containerd;
  images: TestImages;
  tmp: string;
  ctr: (args: string[], timeoutMs?: number) => Promise<CtrResult>;
  /** `ctr task ls` as id → [pid, status]. */
  tasks: () => Promise<Map<string, { pid: number; status: string }>>;
  /** The shim daemons (`… serve`) serving container `id`'s group. */
  daemons: (id?: string) => number[];
  close: () => Promise<void>;
}

export async function faultEnv(opts: ContainerdOptions = {}): Promise<FaultEnv> {
  const tmp = mkdtempSync(join(tmpdir(), "faults-"));
  const images = await buildTestImages(tmp);
  const ctd = await Containerd.start({ shimDir: binDir, ...opts });
  await ctd.importImage(images.fixtures.tarball);
  await ctd.importImage(images.busybox.tarball);
  const ctr = (args: string[], timeoutMs = 60_000) => ctd.ctr(args, { timeoutMs });
  return {
    ctd,
    images,
    tmp,
    ctr,
    tasks: async () => {
      const rows = (await ctr(["task", "ls"])).stdout.split("\n").slice(1);
      return new Map(
        rows
          .map((r) => r.trim().split(/\s+/))
          .filter((c) => c.length === 3)
          .map(([id, pid, status]) => [id!, { pid: Number(pid), status: status! }]),
      );
    },
    daemons: (id) =>
      shimProcesses(ctd.socket)
        .filter((p) => p.argv.at(-1) === "serve" && (id === undefined || p.id === id))
        .map((p) => p.pid),
    close: async () => {
      await ctd.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Waits until `id`'s task has `status` (undefined: no task at all). */
export async function waitTask(env: FaultEnv, id: string, status: string | undefined, ms = 30_000): Promise<void> {
  await eventually(async () => expect((await env.tasks()).get(id)?.status).toBe(status), ms);
}

/**
 * ctr's own FIFO dirs (/run/containerd/fifo/*) stay when containerd removed a task without ctr:
 * ctr deletes them only when it deletes the task itself. They are the client's, not the shim's;
 * a test that kills a shim removes them as ctr would and checks that nothing else is left.
 */
export async function clientFifosThenNothing(ctd: Containerd): Promise<string[]> {
  const isClientFifo = (l: string) => /^file \/run\/containerd\/fifo\/\d+$/.test(l);
  const fifos = await eventually(async () => {
    const left = await ctd.leftovers();
    expect(left.filter((l) => !isClientFifo(l))).toEqual([]);
    return left.filter(isClientFifo).map((l) => l.slice("file ".length));
  }, 15_000);
  for (const dir of fifos) rmSync(dir, { recursive: true, force: true });
  expect(await ctd.leftovers()).toEqual([]);
  return fifos;
}
