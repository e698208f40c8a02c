import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { WasmImage, WasmLayer } from "../../src/containerd/artifacts.ts";
import { silentLogger } from "../../src/log.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { imageLookup, resolveImageEntrypoint, type WasmImageQuery } from "../../src/wasm/image-entrypoint.ts";

/** The rules for which module a container runs, on a rootfs directory and a faked image query. */
const root = mkdtempSync(join(tmpdir(), "image-entrypoint-"));
mkdirSync(join(root, "bin"));
writeFileSync(join(root, "bin", "app.wasm"), Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = (args: string[], annotations: Record<string, string> = {}): Spec => ({
  ociVersion: "1.0.2",
  process: { args, cwd: "/", env: [] },
  annotations,
});
const layer = (n: number, title?: string): WasmLayer => ({
  mediaType: "application/wasm",
  digest: `sha256:${String(n).repeat(64)}`,
  size: 8,
  ...(title ? { title } : {}),
});
const bytesOf = (l: WasmLayer) => new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, Number(l.digest.at(-1))]);

/** A fake image with `layers`, counting how often containerd would be asked. */
function query(layers: WasmLayer[], asked = { count: 0 }): WasmImageQuery {
  const image: WasmImage = { image: "localhost/app:1", manifestDigest: "sha256:m", layers, isWasm: true };
  return async () => {
    asked.count++;
    return { image, readLayer: async (l) => bytesOf(l), store: { socket: "/s", namespace: "ns" } };
  };
}
const resolve = (s: Spec, q: WasmImageQuery | undefined) =>
  resolveImageEntrypoint(root, s, async () => false, imageLookup(q, "c1", s), silentLogger);

describe("resolveImageEntrypoint", () => {
  it("runs the rootfs's file argv[0] names without asking containerd, also with #export", async () => {
    const asked = { count: 0 };
    expect(await resolve(spec(["/bin/app.wasm"]), query([layer(1)], asked))).toMatchObject({
      kind: "wasm",
      path: "/bin/app.wasm",
    });
    expect(await resolve(spec(["/bin/app.wasm#serve"]), query([layer(1)], asked))).toMatchObject({
      path: "/bin/app.wasm",
      exportName: "serve",
    });
    expect(asked.count).toBe(0);
  });

  it("runs the Wasm layer when the rootfs lacks argv[0], or there is no argv at all", async () => {
    const entry = await resolve(spec(["greeter.wasm#greet"]), query([layer(3)]));
    expect(entry).toMatchObject({
      kind: "wasm",
      path: "/greeter.wasm",
      hostPath: "",
      exportName: "greet",
      layer: { digest: layer(3).digest, image: "localhost/app:1", store: { socket: "/s", namespace: "ns" } },
    });
    expect(entry.layer?.bytes).toEqual(bytesOf(layer(3)));
    expect(await resolve(spec([]), query([layer(2, "svc.wasm")]))).toMatchObject({
      path: "/svc.wasm",
      layer: { digest: layer(2).digest },
    });
  });

  it("picks one of several layers by argv[0], and refuses when it names none", async () => {
    const q = query([layer(1, "a.wasm"), layer(2, "b.wasm")]);
    expect(await resolve(spec(["b.wasm"]), q)).toMatchObject({ layer: { digest: layer(2).digest } });
    await expect(resolve(spec(["c.wasm"]), q)).rejects.toThrow(
      /2 Wasm layers and the entrypoint c\.wasm names none of them/,
    );
  });

  it("keeps the rootfs's error when the image has no Wasm layer, none can be asked, or asking fails", async () => {
    const notThere = /entrypoint \/nope\.wasm does not exist in the container's root filesystem: not found/;
    await expect(resolve(spec(["/nope.wasm"]), query([]))).rejects.toThrow(notThere);
    await expect(resolve(spec(["/nope.wasm"]), undefined)).rejects.toThrow(notThere);
    await expect(
      resolve(spec(["/nope.wasm"]), async () => Promise.reject(new Error("connection refused"))),
    ).rejects.toThrow(notThere);
    await expect(resolve(spec([]), query([]))).rejects.toThrow(/no process args/);
  });

  it("never asks for a pod's sandbox", async () => {
    const asked = { count: 0 };
    await expect(
      resolve(spec(["/pause"], { "io.kubernetes.cri.container-type": "sandbox" }), query([layer(1)], asked)),
    ).rejects.toThrow(/does not exist/);
    expect(asked.count).toBe(0);
  });
});
