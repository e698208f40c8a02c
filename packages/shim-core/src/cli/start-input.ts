import { fromBinary } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import {
  BootstrapParamsSchema,
  LogLevel,
  type BootstrapParams,
} from "../gen/containerd/runtime/bootstrap/v1/bootstrap_pb.ts";
import type { ShimFlags } from "./flags.ts";

// Apart from bootstrap.ts and loaded only when stdin holds something: decoding needs the
// generated descriptors, which take tens of ms to build, and containerd 1.6 to 2.2 send nothing
// for a runtime without an options table.

/**
 * What containerd wrote on the stdin of `start`:
 * - nothing (every version, for a runtime without an `options` table);
 * - the runtime options as a bare `google.protobuf.Any` (1.6 to 2.2);
 * - a `BootstrapParams` (2.3 and later, always), with the options Any among its extensions.
 */
export type StartInput =
  | { kind: "empty" }
  | { kind: "options"; options: Any }
  // debug is params.logLevel read here, because the LogLevel enum is generated code that
  // bootstrap.ts (loaded on every start) must not import.
  | { kind: "bootstrap"; params: BootstrapParams; options: Any | undefined; debug: boolean };

/** The options tables containerd turns into an Any; other extensions are someone else's. */
const OPTIONS_TYPES = new Set(["runtimeoptions.v1.Options", "containerd.runc.v1.Options"]);
const typeName = (url: string) => url.slice(url.lastIndexOf("/") + 1);

/** Field numbers at the top level of a protobuf message, or an error if the bytes are not one. */
function topLevelFields(bytes: Uint8Array): Set<number> {
  const reader = new BinaryReader(bytes);
  const fields = new Set<number>();
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field < 1) throw new Error(`field number ${field}`);
    reader.skip(wireType, field);
    fields.add(field);
  }
  return fields;
}

function describe(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 16)).toString("hex").replace(/(..)/g, "$1 ").trim();
  return `${bytes.length} bytes starting ${head}`;
}

/**
 * Tells the three apart without guessing from decode success alone: an Any decodes as a
 * BootstrapParams too (type_url lands in instance_id, value in namespace). An Any has only
 * fields 1 and 2, while containerd always fills BootstrapParams' version, addresses and binary
 * (fields 4 to 7); with only fields 1 and 2, it is a BootstrapParams only if they are our id and
 * namespace, as containerd's own shim library checks.
 */
export function parseStartInput(bytes: Uint8Array, flags: Pick<ShimFlags, "id" | "namespace">): StartInput {
  if (bytes.length === 0) return { kind: "empty" };
  let fields: Set<number>;
  try {
    fields = topLevelFields(bytes);
  } catch (err) {
    throw new Error(
      `cannot read containerd's start parameters on stdin (${describe(bytes)}): not protobuf (${(err as Error).message})`,
    );
  }
  const onlyAnyFields = [...fields].every((f) => f === 1 || f === 2);
  const params = decode(() => fromBinary(BootstrapParamsSchema, bytes));
  const ours = params !== undefined && params.instanceId === flags.id && params.namespace === flags.namespace;
  if (!onlyAnyFields || ours) {
    if (!params) throw new Error(`cannot read containerd's BootstrapParams on stdin (${describe(bytes)})`);
    // Flags still come with 2.3 but are deprecated there: without them the parameters decide.
    if ((flags.id && params.instanceId !== flags.id) || (flags.namespace && params.namespace !== flags.namespace)) {
      throw new Error(
        `containerd's BootstrapParams are for ${JSON.stringify(params.instanceId)} in namespace ${JSON.stringify(params.namespace)}, but the flags say ${JSON.stringify(flags.id)} in ${JSON.stringify(flags.namespace)}`,
      );
    }
    const options = params.extensions
      .map((e) => e.value)
      .find((a) => a !== undefined && OPTIONS_TYPES.has(typeName(a.typeUrl)));
    return { kind: "bootstrap", params, options, debug: params.logLevel <= LogLevel.DEBUG };
  }
  const any = decode(() => fromBinary(AnySchema, bytes));
  if (!any?.typeUrl)
    throw new Error(
      `cannot read containerd's start parameters on stdin (${describe(bytes)}): neither BootstrapParams nor runtime options`,
    );
  return { kind: "options", options: any };
}

function decode<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
