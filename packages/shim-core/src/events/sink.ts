/** The seam between task logic and event delivery: tests and the publisher both implement EventSink. */
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { encode, type WireMessage } from "../wire/codec.ts";

/** An event as a type URL plus encoded bytes: the Any that goes in the envelope. */
export interface PackedEvent {
  typeUrl: string;
  value: Uint8Array;
}

/** Fire and forget; events are delivered in publish order. */
export interface EventSink {
  publish(topic: string, event: PackedEvent): void;
}

/** containerd and its subscribers expect the bare full name, without a type.googleapis.com/ prefix. */
export function packEvent<D extends DescMessage>(schema: WireMessage<D>, message: MessageInitShape<D>): PackedEvent {
  return { typeUrl: schema.typeName, value: encode(schema, message) };
}
