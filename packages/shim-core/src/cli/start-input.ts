import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { ShimFlags } from "./flags.ts";

// Read with the wire reader alone, not the generated BootstrapParams: building the generated
// descriptors takes tens of ms, `start` runs for every container, and containerd 2.3 always
// writes BootstrapParams (1.6 to 2.2 write the options Any when the runtime has options).

/** A `google.protobuf.Any`: what containerd packs the runtime options in. */
export interface PackedOptions {
  typeUrl: string;
  value: Uint8Array;
}

/** containerd.runtime.bootstrap.v1.BootstrapParams (proto/containerd/runtime/bootstrap/v1). */
export interface BootstrapParams {
  instanceId: string;
  namespace: string;
  /** LogLevel: DEBUG is -4, TRACE -8, INFO 0. */
  logLevel: number;
  containerdVersion: string;
  containerdTtrpcAddress: string;
  containerdGrpcAddress: string;
  containerdBinary: string;
  /** Each Extension's `value`. */
  extensions: PackedOptions[];
  socketDir?: string;
}

const LOG_LEVEL_DEBUG = -4;

/**
 * What containerd wrote on the stdin of `start`:
 * - nothing (every version, for a runtime without an `options` table);
 * - the runtime options as a bare `google.protobuf.Any` (1.6 to 2.2);
 * - a `BootstrapParams` (2.3 and later, always), with the options Any among its extensions.
 */
export type StartInput =
  | { kind: "empty" }
  | { kind: "options"; options: PackedOptions }
  | { kind: "bootstrap"; params: BootstrapParams; options: PackedOptions | undefined; debug: boolean };

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
  const params = decode(() => readBootstrapParams(bytes));
  const ours = params !== undefined && params.instanceId === flags.id && params.namespace === flags.namespace;
  if (!onlyAnyFields || ours) {
    if (!params) throw new Error(`cannot read containerd's BootstrapParams on stdin (${describe(bytes)})`);
    // Flags still come with 2.3 but are deprecated there: without them the parameters decide.
    if ((flags.id && params.instanceId !== flags.id) || (flags.namespace && params.namespace !== flags.namespace)) {
      throw new Error(
        `containerd's BootstrapParams are for ${JSON.stringify(params.instanceId)} in namespace ${JSON.stringify(params.namespace)}, but the flags say ${JSON.stringify(flags.id)} in ${JSON.stringify(flags.namespace)}`,
      );
    }
    const options = params.extensions.find((a) => OPTIONS_TYPES.has(typeName(a.typeUrl)));
    return { kind: "bootstrap", params, options, debug: params.logLevel <= LOG_LEVEL_DEBUG };
  }
  const any = decode(() => readAny(bytes));
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

type Fields = Record<number, readonly [WireType, (reader: BinaryReader) => void]>;

/** Reads the `fields` it is given and skips the rest; a known field of another wire type is an error, as in fromBinary. */
function readMessage(bytes: Uint8Array, fields: Fields): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    const known = fields[field];
    if (!known) {
      reader.skip(wireType, field);
      continue;
    }
    if (wireType !== known[0]) throw new Error(`field ${field} has wire type ${wireType}`);
    known[1](reader);
  }
}

const text = (set: (s: string) => void) => [WireType.LengthDelimited, (r: BinaryReader) => set(r.string())] as const;

function readAny(bytes: Uint8Array): PackedOptions {
  const any: PackedOptions = { typeUrl: "", value: new Uint8Array() };
  readMessage(bytes, {
    1: text((s) => (any.typeUrl = s)),
    2: [WireType.LengthDelimited, (r) => (any.value = r.bytes())],
  });
  return any;
}

function readBootstrapParams(bytes: Uint8Array): BootstrapParams {
  const p: BootstrapParams = {
    instanceId: "",
    namespace: "",
    logLevel: 0,
    containerdVersion: "",
    containerdTtrpcAddress: "",
    containerdGrpcAddress: "",
    containerdBinary: "",
    extensions: [],
  };
  readMessage(bytes, {
    1: text((s) => (p.instanceId = s)),
    2: text((s) => (p.namespace = s)),
    3: [WireType.Varint, (r) => (p.logLevel = r.int32())],
    4: text((s) => (p.containerdVersion = s)),
    5: text((s) => (p.containerdTtrpcAddress = s)),
    6: text((s) => (p.containerdGrpcAddress = s)),
    7: text((s) => (p.containerdBinary = s)),
    // Extension { google.protobuf.Any value = 1; }
    8: [
      WireType.LengthDelimited,
      (r) => readMessage(r.bytes(), { 1: [WireType.LengthDelimited, (e) => p.extensions.push(readAny(e.bytes()))] }),
    ],
    9: text((s) => (p.socketDir = s)),
  });
  return p;
}
