import { createHash } from "node:crypto";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type * as MD from "../gen/containerd/services/metadata_pb.ts";
import { decode, encode, type WireMessage } from "../wire/codec.ts";
import { grpcCall, type GrpcOptions } from "./grpc.ts";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** A blob whose bytes are not what its digest (or size) says: a corrupt or tampered store. */
export class DigestMismatch extends Error {}

// containerd's default gRPC limit on a received message is 16 MiB; stay well below it.
const WRITE_CHUNK = 4 << 20;

export const sha256Digest = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

// Loaded on the first call: building its descriptors took a few ms of every daemon's boot, and
// most images (an entrypoint that is a file in the rootfs) never call containerd.
const metadata = () => import("../gen/wire/containerd/services/metadata.ts");

/** The containerd gRPC calls the shim makes, in one namespace (`-address`, `-namespace`). */
export class ContainerdClient {
  readonly socket: string;
  readonly namespace: string;

  constructor(socket: string, namespace: string) {
    this.socket = socket;
    this.namespace = namespace;
  }

  async #call<I extends DescMessage, O extends DescMessage>(
    path: string,
    input: WireMessage<I>,
    req: MessageInitShape<I> | MessageInitShape<I>[],
    output: WireMessage<O>,
    options: GrpcOptions = {},
  ): Promise<MessageShape<O>[]> {
    const messages = (Array.isArray(req) ? req : [req]).map((r) => encode(input, r));
    const replies = await grpcCall(this.socket, path, messages, this.namespace, options);
    return replies.map((r) => decode(output, r));
  }

  /** The image a container was created from (empty for `ctr run --rootfs`). */
  async containerImage(id: string): Promise<string | undefined> {
    const md = await metadata();
    const [reply] = await this.#call(
      "/containerd.services.containers.v1.Containers/Get",
      md.GetContainerRequestSchema,
      { id },
      md.GetContainerResponseSchema,
    );
    return reply?.container?.image || undefined;
  }

  async imageTarget(name: string): Promise<Descriptor | undefined> {
    const md = await metadata();
    const [reply] = await this.#call(
      "/containerd.services.images.v1.Images/Get",
      md.GetImageRequestSchema,
      { name },
      md.GetImageResponseSchema,
    );
    const target = reply?.image?.target;
    return target ? { mediaType: target.mediaType, digest: target.digest, size: Number(target.size) } : undefined;
  }

  /** The blob's bytes as the store returns them, unchecked. */
  async read(digest: string, timeoutMs = 30_000): Promise<Uint8Array> {
    const md = await metadata();
    const parts = await this.#call(
      "/containerd.services.content.v1.Content/Read",
      md.ReadContentRequestSchema,
      { digest },
      md.ReadContentResponseSchema,
      { timeoutMs },
    );
    return parts.length === 1 ? parts[0]!.data : Buffer.concat(parts.map((p) => p.data));
  }

  /** The blob's bytes, checked against its digest (and size, when known): never trust the disk. */
  async readVerified(digest: string, size?: number, timeoutMs?: number): Promise<Uint8Array> {
    const bytes = await this.read(digest, timeoutMs);
    const actual = sha256Digest(bytes);
    if (actual !== digest)
      throw new DigestMismatch(`content ${digest} in containerd's store is corrupt: its bytes hash to ${actual}`);
    if (size !== undefined && bytes.length !== size)
      throw new DigestMismatch(`content ${digest} is ${bytes.length} bytes, its descriptor says ${size}`);
    return bytes;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse(Buffer.from(await this.readVerified(digest)).toString("utf8")) as T;
  }

  /** The blob's labels, or undefined when the store does not have it. */
  async labels(digest: string): Promise<Record<string, string> | undefined> {
    const md = await metadata();
    try {
      const [reply] = await this.#call(
        "/containerd.services.content.v1.Content/Info",
        md.InfoRequestSchema,
        { digest },
        md.InfoResponseSchema,
      );
      return reply?.info?.labels ?? {};
    } catch (err) {
      if (/not found/.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  /** Sets (or, with "", removes) these labels of a blob, leaving its others alone. */
  async setLabels(digest: string, labels: Record<string, string>): Promise<void> {
    const md = await metadata();
    const updateMask = { paths: Object.keys(labels).map((k) => `labels.${k}`) };
    const kept = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));
    await this.#call(
      "/containerd.services.content.v1.Content/Update",
      md.UpdateRequestSchema,
      { info: { digest, labels: kept }, updateMask },
      md.UpdateResponseSchema,
    );
  }

  /**
   * Writes `data` into the store (under `lease`, so the GC leaves it alone until something else
   * references it) and returns its digest. A blob already there is not written again.
   */
  async write(ref: string, data: Uint8Array, lease: string, labels: Record<string, string> = {}): Promise<string> {
    const md = await metadata();
    const digest = sha256Digest(data);
    const total = BigInt(data.length);
    const requests: MessageInitShape<typeof MD.WriteContentRequestSchema>[] = [];
    for (let offset = 0; offset < data.length || requests.length === 0; offset += WRITE_CHUNK) {
      const end = Math.min(offset + WRITE_CHUNK, data.length);
      const last = end >= data.length;
      requests.push({
        action: last ? md.WriteAction.COMMIT : md.WriteAction.WRITE,
        ref,
        total,
        expected: digest,
        offset: BigInt(offset),
        data: data.subarray(offset, end),
        ...(last ? { labels } : {}),
      });
    }
    try {
      await this.#call(
        "/containerd.services.content.v1.Content/Write",
        md.WriteContentRequestSchema,
        requests,
        md.WriteContentResponseSchema,
        { timeoutMs: 60_000, headers: { "containerd-lease": lease } },
      );
    } catch (err) {
      if (!/already exists/.test((err as Error).message)) throw err;
    }
    return digest;
  }

  /** A lease that keeps what is written under it from the GC until deleted or `expireSeconds` pass. */
  async createLease(expireSeconds: number): Promise<string> {
    const md = await metadata();
    const expire = new Date(Date.now() + expireSeconds * 1000).toISOString();
    const [reply] = await this.#call(
      "/containerd.services.leases.v1.Leases/Create",
      md.CreateLeaseRequestSchema,
      { labels: { "containerd.io/gc.expire": expire } },
      md.CreateLeaseResponseSchema,
    );
    if (!reply?.lease?.id) throw new Error("containerd created a lease without an id");
    return reply.lease.id;
  }

  async deleteLease(id: string): Promise<void> {
    const md = await metadata();
    await this.#call(
      "/containerd.services.leases.v1.Leases/Delete",
      md.DeleteLeaseRequestSchema,
      { id },
      md.DeleteLeaseResponseSchema,
    );
  }
}
