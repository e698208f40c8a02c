import { RuntimeInfoSchema } from "../gen/wire/containerd/types/introspection.ts";
import { encode } from "../wire/codec.ts";

/** What `-info` prints: containerd 2.x's RuntimeInfo, binary protobuf on stdout. */
export function runtimeInfo(engine: string, version: string, revision: string): Uint8Array {
  return encode(RuntimeInfoSchema, { name: `io.containerd.${engine}.v1`, version: { version, revision } });
}
