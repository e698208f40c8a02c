import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as md from "../gen/containerd/services/metadata_pb.ts";
import { grpcCall } from "./grpc.ts";

interface ImageJson {
  architecture?: string;
  config?: { digest: string };
  manifests?: { digest: string; platform?: { architecture?: string } }[];
}

/** Reads image metadata from containerd's gRPC socket in one namespace. */
class Metadata {
  private readonly socket: string;
  private readonly namespace: string;
  constructor(socket: string, namespace: string) {
    this.socket = socket;
    this.namespace = namespace;
  }

  private async call<I extends DescMessage, O extends DescMessage>(path: string, input: I, req: MessageInitShape<I>, output: O): Promise<MessageShape<O>[]> {
    const replies = await grpcCall(this.socket, path, toBinary(input, create(input, req)), this.namespace);
    return replies.map((r) => fromBinary(output, r));
  }

  async imageOf(containerId: string): Promise<string | undefined> {
    const [reply] = await this.call("/containerd.services.containers.v1.Containers/Get", md.GetContainerRequestSchema, { id: containerId }, md.GetContainerResponseSchema);
    return reply?.container?.image || undefined;
  }

  async target(image: string): Promise<string | undefined> {
    const [reply] = await this.call("/containerd.services.images.v1.Images/Get", md.GetImageRequestSchema, { name: image }, md.GetImageResponseSchema);
    return reply?.image?.target?.digest || undefined;
  }

  async json(digest: string): Promise<ImageJson> {
    const parts = await this.call("/containerd.services.content.v1.Content/Read", md.ReadContentRequestSchema, { digest }, md.ReadContentResponseSchema);
    return JSON.parse(Buffer.concat(parts.map((p) => p.data)).toString("utf8")) as ImageJson;
  }
}

/**
 * The `architecture` of a container's image config: container → image → manifest (an index is
 * followed to its wasm entry, if it has one) → config.
 */
export async function imageArchitecture(socket: string, namespace: string, containerId: string): Promise<string | undefined> {
  const meta = new Metadata(socket, namespace);
  const image = await meta.imageOf(containerId);
  const target = image && (await meta.target(image));
  if (!target) return undefined;
  let manifest = await meta.json(target);
  if (manifest.manifests) {
    const wasm = manifest.manifests.find((m) => m.platform?.architecture === "wasm");
    if (!wasm) return undefined;
    manifest = await meta.json(wasm.digest);
  }
  return manifest.config ? (await meta.json(manifest.config.digest)).architecture : undefined;
}
