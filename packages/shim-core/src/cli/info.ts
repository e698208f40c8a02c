import { create, toBinary } from "@bufbuild/protobuf";
import { RuntimeInfoSchema } from "../gen/containerd/types/introspection_pb.ts";

/** What `-info` prints: containerd 2.x's RuntimeInfo, binary protobuf on stdout. */
export function runtimeInfo(engine: string, version: string, revision: string): Uint8Array {
  return toBinary(
    RuntimeInfoSchema,
    create(RuntimeInfoSchema, { name: `io.containerd.${engine}.v1`, version: { version, revision } }),
  );
}
