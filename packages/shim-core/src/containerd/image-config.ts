import { ContainerdClient, type Descriptor } from "./client.ts";

export interface ImageManifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: (Descriptor & { platform?: { architecture?: string } })[];
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
}

/** An image's manifest as containerd stores it: an index is followed to its wasm entry, if it has one. */
export async function imageManifest(
  client: ContainerdClient,
  image: string,
): Promise<{ digest: string; manifest: ImageManifest } | undefined> {
  const target = await client.imageTarget(image);
  if (!target) return undefined;
  let digest = target.digest;
  let manifest = await client.readJson<ImageManifest>(digest);
  if (manifest.manifests) {
    const wasm = manifest.manifests.find((m) => m.platform?.architecture === "wasm");
    if (!wasm) return undefined;
    digest = wasm.digest;
    manifest = await client.readJson<ImageManifest>(digest);
  }
  return { digest, manifest };
}

/**
 * The `architecture` of a container's image config: container → image → manifest (an index is
 * followed to its wasm entry, if it has one) → config.
 */
export async function imageArchitecture(
  socket: string,
  namespace: string,
  containerId: string,
): Promise<string | undefined> {
  const client = new ContainerdClient(socket, namespace);
  const image = await client.containerImage(containerId);
  const found = image ? await imageManifest(client, image) : undefined;
  const config = found?.manifest.config;
  return config ? (await client.readJson<ImageConfig>(config.digest)).architecture : undefined;
}
