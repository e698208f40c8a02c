// The well-known types' helpers the shims need, as protobuf-es's wkt module has them: importing
// that module's would load its descriptors (see codec.ts).
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { Any, Timestamp } from "@bufbuild/protobuf/wkt";
import { encode, type WireMessage } from "./codec.ts";

/** As protobuf-es's timestampFromDate: whole seconds down, the milliseconds as nanos. */
export function timestampFromDate(date: Date): Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/** As protobuf-es's anyPack: the message encoded, under its type.googleapis.com/ URL. */
export function anyPack<D extends DescMessage>(schema: WireMessage<D>, message: MessageInitShape<D>): Any {
  return {
    $typeName: "google.protobuf.Any",
    typeUrl: `type.googleapis.com/${schema.typeName}`,
    value: encode(schema, message),
  };
}
