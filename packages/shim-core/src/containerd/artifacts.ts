import { failedPrecondition, invalidArgument } from "../errors.ts";
import { type ContainerdClient, DigestMismatch, type Descriptor } from "./client.ts";
import { imageManifest, type ImageConfig } from "./image-config.ts";

/** Layers whose blob is a `.wasm` (module or component), as wkg, oras and runwasi push them. */
export const WASM_LAYER_TYPES: readonly string[] = [
  "application/wasm",
  "application/vnd.wasm.content.layer.v1+wasm",
  "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
];
/** The CNCF Wasm artifact's config. */
export const WASM_CONFIG_TYPE = "application/vnd.wasm.config.v0+json";
/** `org.opencontainers.image.title`: the file name oras and wkg record for a layer. */
export const TITLE_ANNOTATION = "org.opencontainers.image.title";

// What containerd unpacks into the snapshot: these stay its business.
const FILESYSTEM_LAYER =
  /^application\/vnd\.(oci\.image\.layer\.(nondistributable\.)?v1\.tar(\+gzip|\+zstd)?|docker\.image\.rootfs\.(foreign\.)?diff\.tar(\.gzip)?)$/;

export interface WasmLayer extends Descriptor {
  /** The layer's file name, when the image records one. */
  title?: string;
}

export interface WasmImage {
  image: string;
  manifestDigest: string;
  /** The image's Wasm layers, in manifest order; empty for an ordinary image. */
  layers: WasmLayer[];
  /** Whether the image says it is Wasm: the CNCF config, or an OCI config with `architecture: wasm`. */
  isWasm: boolean;
}

/**
 * container → image → manifest → config and layers, as runwasi reads them. An image that says it
 * is Wasm may hold Wasm layers and filesystem layers; any other layer is refused, naming it.
 */
export async function containerWasmImage(
  client: ContainerdClient,
  containerId: string,
): Promise<WasmImage | undefined> {
  const image = await client.containerImage(containerId);
  return image ? wasmImage(client, image) : undefined;
}

export async function wasmImage(client: ContainerdClient, image: string): Promise<WasmImage | undefined> {
  const found = await readChecked(() => imageManifest(client, image), `image ${image}`);
  if (!found?.manifest.config) return undefined;
  const { digest: manifestDigest, manifest } = found;
  const config = manifest.config!;
  const isWasm =
    config.mediaType === WASM_CONFIG_TYPE ||
    (await readChecked(() => client.readJson<ImageConfig>(config.digest), `the config of image ${image}`))
      .architecture === "wasm";
  if (!isWasm) return { image, manifestDigest, layers: [], isWasm };
  const layers: WasmLayer[] = [];
  for (const layer of manifest.layers ?? []) {
    if (WASM_LAYER_TYPES.includes(layer.mediaType)) {
      const title = layer.annotations?.[TITLE_ANNOTATION];
      layers.push({
        mediaType: layer.mediaType,
        digest: layer.digest,
        size: Number(layer.size),
        ...(title ? { title } : {}),
      });
    } else if (!FILESYSTEM_LAYER.test(layer.mediaType)) {
      throw invalidArgument(
        `image ${image}: layer ${layer.digest} has media type ${layer.mediaType}, which is neither a Wasm layer (${WASM_LAYER_TYPES.join(", ")}) nor a filesystem layer`,
      );
    }
  }
  return { image, manifestDigest, layers, isWasm };
}

/** A corrupt blob is the node's trouble and gets a message naming it; other errors pass. */
async function readChecked<T>(read: () => Promise<T>, what: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof DigestMismatch) throw failedPrecondition(`${what}: ${err.message}`);
    throw err;
  }
}

/** The layer's bytes from containerd's content store, checked against its digest and size. */
export async function readWasmLayer(
  client: ContainerdClient,
  image: string,
  layer: WasmLayer,
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readChecked(
    () => client.readVerified(layer.digest, layer.size),
    `Wasm layer ${layer.digest} (${layer.mediaType}) of image ${image}`,
  );
  return new Uint8Array(bytes);
}

/** `module.wasm#function` (runwasi's syntax): the file or layer, and the export to call instead of `_start`. */
export function splitExport(arg0: string): { name: string; exportName?: string } {
  const hash = arg0.lastIndexOf("#");
  if (hash <= 0 || hash === arg0.length - 1) return { name: arg0 };
  return { name: arg0.slice(0, hash), exportName: arg0.slice(hash + 1) };
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * The Wasm layer to run for argv[0]. One layer runs whatever argv[0] says (it is the guest's
 * argv[0]). Of several, argv[0] must name one: by its title (the file name, with or without a
 * directory) or by its digest.
 */
export function selectLayer(img: WasmImage, name: string | undefined): WasmLayer {
  const { layers } = img;
  if (layers.length === 1) return layers[0]!;
  const wanted = name ? basename(name) : undefined;
  const match = wanted
    ? layers.filter(
        (l) =>
          l.digest === name ||
          l.digest === `sha256:${wanted}` ||
          (l.title !== undefined && basename(l.title) === wanted),
      )
    : [];
  if (match.length === 1) return match[0]!;
  const list = layers.map((l) => `${l.digest} (${l.mediaType}${l.title ? `, ${l.title}` : ""})`).join(", ");
  const why = name
    ? match.length === 0
      ? `the entrypoint ${name} names none of them`
      : `the entrypoint ${name} names more than one`
    : "the container has no entrypoint to choose one";
  throw invalidArgument(
    `image ${img.image} has ${layers.length} Wasm layers and ${why}: name one by its title or digest as the entrypoint (${list})`,
  );
}
