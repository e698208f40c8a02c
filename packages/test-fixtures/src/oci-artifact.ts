/**
 * OCI images whose layers are Wasm (what `wkg oci push`, `oras push` and runwasi's oci-tar-builder
 * make), as OCI layout tarballs for `ctr image import`, or as blobs a test registry serves.
 * The layer blob is the raw `.wasm`: nothing to untar.
 */
import { readFile } from "node:fs/promises";
import { filesystemLayer, sha256, writeOciLayout, type Blob, type ImageFile, type ImageLayout } from "./oci-image.ts";

export const WASM_MEDIA_TYPES = {
  /** The CNCF Wasm artifact's layer (wkg, oras). */
  wasm: "application/wasm",
  /** What `wkg` pushes for a component package. */
  content: "application/vnd.wasm.content.layer.v1+wasm",
  /** runwasi's oci-tar-builder, for a component. */
  component: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
  /** The CNCF Wasm artifact's config. */
  config: "application/vnd.wasm.config.v0+json",
} as const;

const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";

export interface WasmLayerSpec {
  /** Default `application/wasm`. */
  mediaType?: string;
  source?: string;
  data?: Uint8Array;
  /** `org.opencontainers.image.title`, as oras sets it from the file name. */
  title?: string;
}

export interface WasmArtifactSpec {
  ref: string;
  layers: WasmLayerSpec[];
  /**
   * `wasm`: the CNCF artifact's config (`application/vnd.wasm.config.v0+json`);
   * `oci`: an OCI image config with `architecture: wasm` (runwasi's oci-tar-builder).
   * Default `wasm`.
   */
  config?: "wasm" | "oci";
  /** An ordinary filesystem layer before the Wasm layers (only with an `oci` config). */
  files?: ImageFile[];
  /** OCI config only. */
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  /** Default `wasip1`. */
  os?: string;
  /**
   * Whether the config's `rootfs.diff_ids` also lists the Wasm layers (as their digests), as
   * oci-tar-builder does. containerd before 1.6.25 / 1.7.7 requires one diff id per layer.
   */
  diffIdsForWasm?: boolean;
}

async function layerBlob(layer: WasmLayerSpec): Promise<Blob> {
  const data = layer.data ?? (layer.source ? new Uint8Array(await readFile(layer.source)) : undefined);
  if (!data) throw new Error("a Wasm layer needs data or a source");
  return {
    mediaType: layer.mediaType ?? WASM_MEDIA_TYPES.wasm,
    data,
    ...(layer.title ? { annotations: { "org.opencontainers.image.title": layer.title } } : {}),
  };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The manifest's parts for `spec`, without writing anything. */
export async function wasmArtifactLayout(spec: WasmArtifactSpec): Promise<ImageLayout> {
  const wasmLayers = await Promise.all(spec.layers.map(layerBlob));
  const os = spec.os ?? "wasip1";
  if ((spec.config ?? "wasm") === "wasm") {
    if (spec.files) throw new Error("a filesystem layer needs an OCI image config");
    const config = json({
      created: "2024-01-01T00:00:00Z",
      architecture: "wasm",
      os,
      layerDigests: wasmLayers.map((l) => sha256(l.data)),
    });
    return { ref: spec.ref, config: { mediaType: WASM_MEDIA_TYPES.config, data: config }, layers: wasmLayers };
  }
  const fs = spec.files ? await filesystemLayer({ files: spec.files, gzipLevel: 1 }) : undefined;
  const diffIds = [...(fs ? [fs.diffId] : []), ...(spec.diffIdsForWasm ? wasmLayers.map((l) => sha256(l.data)) : [])];
  const config: Record<string, unknown> = {};
  if (spec.entrypoint) config["Entrypoint"] = spec.entrypoint;
  if (spec.cmd) config["Cmd"] = spec.cmd;
  if (spec.env) config["Env"] = spec.env;
  const configBlob = json({ architecture: "wasm", os, config, rootfs: { type: "layers", diff_ids: diffIds } });
  return {
    ref: spec.ref,
    config: { mediaType: OCI_CONFIG, data: configBlob },
    layers: [...(fs ? [fs.layer] : []), ...wasmLayers],
  };
}

/** Writes `spec` as an OCI layout tarball and returns the manifest digest and the Wasm layers' digests. */
export async function writeWasmArtifact(
  out: string,
  spec: WasmArtifactSpec,
): Promise<{ manifestDigest: string; layerDigests: string[] }> {
  const layout = await wasmArtifactLayout(spec);
  const { manifestDigest } = await writeOciLayout(out, layout);
  return {
    manifestDigest,
    layerDigests: layout.layers.slice(layout.layers.length - spec.layers.length).map((l) => sha256(l.data)),
  };
}
