/**
 * One Forward call at a time over a lazily (re)opened ttrpc connection to containerd. The
 * connection is replaced whenever it closes, which is what a containerd restart looks like.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { ForwardRequestSchema } from "../gen/wire/containerd/events/forward.ts";
import { encode } from "../wire/codec.ts";
import { Code, ShimError, isShimError } from "../errors.ts";
import { TtrpcClient } from "../ttrpc/client.ts";
import type { PackedEvent } from "./sink.ts";

export const EVENTS_SERVICE = "containerd.services.events.ttrpc.v1.Events";
export const NAMESPACE_METADATA_KEY = "containerd-namespace-ttrpc";

export interface EnvelopeFields {
  timestamp: Timestamp;
  topic: string;
  event: PackedEvent;
}

export class Forwarder {
  readonly #address: string;
  readonly #namespace: string;
  readonly #timeoutMs: number;
  #client: TtrpcClient | undefined;
  #closed = false;

  constructor(address: string, namespace: string, timeoutMs: number) {
    this.#address = address;
    this.#namespace = namespace;
    this.#timeoutMs = timeoutMs;
  }

  async forward({ timestamp, topic, event }: EnvelopeFields): Promise<void> {
    const client = await this.#connect();
    const request = encode(ForwardRequestSchema, {
      envelope: { timestamp, namespace: this.#namespace, topic, event },
    });
    try {
      await client.call(EVENTS_SERVICE, "Forward", request, {
        timeoutMs: this.#timeoutMs,
        metadata: { [NAMESPACE_METADATA_KEY]: this.#namespace },
      });
    } catch (err) {
      // A connection that timed out may be wedged; a fresh one is cheap. Remote error statuses keep
      // it, and a closed one is replaced by the next #connect.
      if (isShimError(err, Code.DEADLINE_EXCEEDED)) this.#drop(client);
      throw err;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#client !== undefined) this.#drop(this.#client);
  }

  async #connect(): Promise<TtrpcClient> {
    if (this.#client !== undefined && !this.#client.closed) return this.#client;
    if (this.#closed) throw closedError();
    const client = await TtrpcClient.connect(this.#address);
    if (this.#closed) {
      client.close();
      throw closedError();
    }
    this.#client = client;
    return client;
  }

  #drop(client: TtrpcClient): void {
    client.close();
    if (this.#client === client) this.#client = undefined;
  }
}

function closedError(): ShimError {
  return new ShimError(Code.CANCELLED, "events: publisher closed");
}
