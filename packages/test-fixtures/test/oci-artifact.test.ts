import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WASM_MEDIA_TYPES, writeWasmArtifact } from "../src/index.ts";
import { readTar, sha256 } from "./read-image.ts";

let tmp: string;
const wasm = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
const other = Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "oci-artifact-test-"));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The layout's blobs by digest, each checked against its name, and the manifest and config. */
async function read(tar: string) {
  const files = new Map(readTar(await readFile(tar)).map((r) => [r.name, r.data]));
  const blob = (digest: string) => {
    const data = files.get(`blobs/sha256/${digest.slice(7)}`)!;
    expect(sha256(data)).toBe(digest);
    return data;
  };
  const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));
  const index = json(files.get("index.json")!);
  const manifest = json(blob(index.manifests[0].digest));
  return { index, manifest, config: json(blob(manifest.config.digest)), blob };
}

describe("writeWasmArtifact", () => {
  it("writes the CNCF artifact: wasm config, raw .wasm layers with their titles", async () => {
    const tar = join(tmp, "cncf.tar");
    const { manifestDigest, layerDigests } = await writeWasmArtifact(tar, {
      ref: "localhost/a:1",
      layers: [{ data: wasm, title: "app.wasm" }],
    });
    const { index, manifest, config, blob } = await read(tar);
    expect(index.manifests[0].digest).toBe(manifestDigest);
    expect(manifest.config.mediaType).toBe(WASM_MEDIA_TYPES.config);
    expect(manifest.layers).toEqual([
      {
        mediaType: "application/wasm",
        digest: layerDigests[0],
        size: wasm.length,
        annotations: { "org.opencontainers.image.title": "app.wasm" },
      },
    ]);
    expect(new Uint8Array(blob(layerDigests[0]!))).toEqual(wasm);
    expect(config).toMatchObject({ architecture: "wasm", os: "wasip1", layerDigests });
  });

  it("writes an OCI config with architecture wasm, a filesystem layer first, diff ids for it only unless asked", async () => {
    const spec = {
      ref: "localhost/b:1",
      config: "oci" as const,
      files: [{ path: "/etc/x", content: "x" }],
      layers: [{ data: wasm }, { data: other, mediaType: WASM_MEDIA_TYPES.component }],
      entrypoint: ["app.wasm"],
    };
    const tar = join(tmp, "oci.tar");
    const { layerDigests } = await writeWasmArtifact(tar, spec);
    const { manifest, config, blob } = await read(tar);
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/wasm",
      WASM_MEDIA_TYPES.component,
    ]);
    expect(manifest.layers.slice(1).map((l: { digest: string }) => l.digest)).toEqual(layerDigests);
    const fsTar = gunzipSync(blob(manifest.layers[0].digest));
    expect(readTar(fsTar).map((r) => r.name)).toEqual(["etc/", "etc/x"]);
    expect(config).toMatchObject({
      architecture: "wasm",
      os: "wasip1",
      config: { Entrypoint: ["app.wasm"] },
      rootfs: { diff_ids: [sha256(fsTar)] },
    });

    await writeWasmArtifact(tar, { ...spec, diffIdsForWasm: true });
    expect((await read(tar)).config.rootfs.diff_ids).toEqual([sha256(fsTar), ...layerDigests]);
  });

  it("refuses a filesystem layer beside the CNCF config, which has no diff ids", async () => {
    await expect(
      writeWasmArtifact(join(tmp, "bad.tar"), {
        ref: "localhost/c:1",
        files: [{ path: "/x", content: "" }],
        layers: [{ data: wasm }],
      }),
    ).rejects.toThrow(/needs an OCI image config/);
  });
});
