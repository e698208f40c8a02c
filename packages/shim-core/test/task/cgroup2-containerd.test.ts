import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";

// containerd 1.6, its shims and runc in a mount namespace whose /sys/fs/cgroup is cgroup v2: they
// all take the host for a cgroup v2 one, so Stats goes through the shim's v2 path and containerd
// decodes it as io.containerd.cgroups.v2.Metrics. On a hybrid machine that hierarchy has no
// cpu or memory controller (hence --cpu-shares 0); on a v2 host it has them all.
const shimDir = fileURLToPath(new URL("../../../../dist/bin", import.meta.url));
const runtime = "io.containerd.node.v1";
let ctd: Containerd;
let images: TestImages;
let imageDir: string;
let seq = 0;

beforeAll(async () => {
  imageDir = mkdtempSync(join(tmpdir(), "images-"));
  images = await buildTestImages(imageDir);
  ctd = await Containerd.start({ shimDir, cgroup2: true });
  await ctd.importImage(images.fixtures.tarball);
  await ctd.importImage(images.busybox.tarball);
});

afterAll(async () => {
  await ctd?.stop();
  rmSync(imageDir, { recursive: true, force: true });
});

afterEach(async () => {
  await eventually(async () => expect(await ctd.leftovers()).toEqual([]));
});

/** `ctr task metrics --format json`: containerd's own decoding of the shim's Stats. */
async function metrics(id: string): Promise<Record<string, unknown> & { cpu?: Record<string, number> }> {
  const res = await ctd.ctr(["task", "metrics", "--format", "json", id]);
  expect(res.stderr).toBe("");
  return JSON.parse(res.stdout) as Record<string, unknown> & { cpu?: Record<string, number> };
}

describe("containerd 1.6 on a cgroup v2 hierarchy", () => {
  for (const [kind, image, args] of [
    ["a Wasm", () => images.fixtures.ref, ["/loop.wasm"]],
    ["a native", () => images.busybox.ref, ["/bin/busybox", "sh", "-c", "while true; do :; done"]],
  ] as const) {
    it(`reports ${kind} container's cgroup v2 metrics through ctr`, async () => {
      const id = `cg2-${process.pid}-${++seq}`;
      const run = await ctd.ctr(["run", "-d", "--cpu-shares", "0", "--runtime", runtime, image(), id, ...args], {
        timeoutMs: 30_000,
      });
      try {
        expect(run.stderr).toBe("");
        // v2 Metrics name CPU time usage_usec; v1 Metrics would have cpu.usage.total.
        await eventually(async () => expect((await metrics(id)).cpu?.usage_usec).toBeGreaterThan(1000));
        const first = await metrics(id);
        expect(first.cpu).not.toHaveProperty("usage");
        expect(first.cpu).toHaveProperty("user_usec");
        // A spinning task: the count is the kernel's, live.
        await eventually(async () =>
          expect((await metrics(id)).cpu!.usage_usec).toBeGreaterThan(first.cpu!.usage_usec!),
        );
      } finally {
        await ctd.removeContainer(id);
      }
    });
  }
});
