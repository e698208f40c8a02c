import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixturePath,
  wasmArtifactLayout,
  WASM_MEDIA_TYPES,
  writeOciLayout,
  writeWasmArtifact,
  type WasmArtifactSpec,
} from "@wasm-shims/test-fixtures";
import { readWasmLayer, selectLayer, wasmImage } from "../../src/containerd/artifacts.ts";
import { ContainerdClient } from "../../src/containerd/client.ts";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";

/**
 * What containerd 1.6.20 cannot unpack (and so cannot run) is still stored: `ctr image import
 * --no-unpack` keeps any manifest. The shim's reading of it goes through the same content API
 * calls as at Create; these tests drive them against a real daemon's store.
 */
let ctd: Containerd;
let client: ContainerdClient;
const hello = new Uint8Array(readFileSync(fixturePath("hello")));
const exportsWasm = new Uint8Array(readFileSync(fixturePath("exports")));

async function importArtifact(
  name: string,
  spec: Omit<WasmArtifactSpec, "ref">,
): Promise<{ ref: string; layerDigests: string[] }> {
  const ref = `localhost/artifacts/${name}:1`;
  const tar = join(ctd.dir, `${name}.tar`);
  const { layerDigests } = await writeWasmArtifact(tar, { ref, ...spec });
  const r = await ctd.ctr(["image", "import", "--no-unpack", tar]);
  if (r.code !== 0) throw new Error(`import ${name}: ${r.stderr}`);
  return { ref, layerDigests };
}

beforeAll(async () => {
  ctd = await Containerd.start();
  client = new ContainerdClient(ctd.socket, ctd.namespace);
});

afterAll(async () => {
  await ctd?.stop();
});

describe("Wasm layers read from containerd's content store", () => {
  it("finds the layer of a CNCF artifact (wasm config) and reads it, checked", async () => {
    const { ref, layerDigests } = await importArtifact("cncf", { layers: [{ data: hello }] });
    const img = await wasmImage(client, ref);
    expect(img).toMatchObject({
      image: ref,
      isWasm: true,
      layers: [{ mediaType: WASM_MEDIA_TYPES.wasm, digest: layerDigests[0], size: hello.length }],
    });
    expect(await readWasmLayer(client, ref, img!.layers[0]!)).toEqual(hello);
  });

  it("reads the layouts containerd 1.6.20 cannot unpack: runwasi's, with a diff id per Wasm layer, and two layer types", async () => {
    const { ref, layerDigests } = await importArtifact("runwasi", {
      config: "oci",
      diffIdsForWasm: true,
      files: [{ path: "/etc/motd", content: "hi\n" }],
      layers: [
        { data: hello, mediaType: WASM_MEDIA_TYPES.component, title: "hello.wasm" },
        { data: exportsWasm, mediaType: WASM_MEDIA_TYPES.content, title: "exports.wasm" },
      ],
    });
    const img = (await wasmImage(client, ref))!;
    // The filesystem layer is containerd's to unpack; only the Wasm layers are the shim's.
    expect(img.layers.map((l) => [l.digest, l.mediaType, l.title])).toEqual([
      [layerDigests[0], WASM_MEDIA_TYPES.component, "hello.wasm"],
      [layerDigests[1], WASM_MEDIA_TYPES.content, "exports.wasm"],
    ]);
    expect(await readWasmLayer(client, ref, selectLayer(img, "exports.wasm"))).toEqual(exportsWasm);
    expect(() => selectLayer(img, undefined)).toThrow(
      new RegExp(`2 Wasm layers.*${layerDigests[0]}.*${layerDigests[1]}`),
    );
  });

  it("leaves an ordinary image alone: no Wasm layers unless the image says wasm", async () => {
    const ref = "localhost/artifacts/linux:1";
    const tar = join(ctd.dir, "linux.tar");
    const config = new TextEncoder().encode(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    await writeOciLayout(tar, {
      ref,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", data: config },
      layers: [{ mediaType: WASM_MEDIA_TYPES.wasm, data: hello }],
    });
    expect((await ctd.ctr(["image", "import", "--no-unpack", tar])).code).toBe(0);
    expect(await wasmImage(client, ref)).toMatchObject({ isWasm: false, layers: [] });
  });

  it("refuses a layer of unknown media type, naming it and its digest", async () => {
    const layout = await wasmArtifactLayout({ ref: "x:1", layers: [{ data: hello }] });
    layout.layers.push({
      mediaType: "application/vnd.fermyon.spin.application.v1+config",
      data: new TextEncoder().encode("{}"),
    });
    const ref = "localhost/artifacts/unknown:1";
    const tar = join(ctd.dir, "unknown.tar");
    await writeOciLayout(tar, { ...layout, ref });
    expect((await ctd.ctr(["image", "import", "--no-unpack", tar])).code).toBe(0);
    await expect(wasmImage(client, ref)).rejects.toThrow(
      /layer sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a has media type application\/vnd\.fermyon\.spin\.application\.v1\+config, which is neither a Wasm layer .* nor a filesystem layer: invalid argument$/,
    );
  });

  it("refuses a layer whose bytes in the store are not its digest's, naming both", async () => {
    const { ref, layerDigests } = await importArtifact("tampered", { layers: [{ data: hello }] });
    const digest = layerDigests[0]!;
    const blob = join(ctd.dir, "root", "io.containerd.content.v1.content", "blobs", "sha256", digest.slice(7));
    const bad = new Uint8Array(hello);
    bad[bad.length - 1] = bad.at(-1)! ^ 0xff;
    writeFileSync(blob, bad);
    const img = (await wasmImage(client, ref))!;
    await expect(readWasmLayer(client, ref, img.layers[0]!)).rejects.toThrow(
      new RegExp(
        `Wasm layer ${digest} \\(application/wasm\\) of image ${ref}: content ${digest} in containerd's store is corrupt: its bytes hash to sha256:[0-9a-f]{64}: failed precondition$`,
      ),
    );
  });
});
