import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, AnySchema, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  BootstrapParamsSchema,
  BootstrapResultSchema,
  ExtensionSchema,
} from "../../src/gen/containerd/runtime/bootstrap/v1/bootstrap_pb.ts";
import { startConfig } from "../../src/cli/bootstrap.ts";
import { parseStartInput } from "../../src/cli/start-input.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import { bootstrapParamsBytes, legacyOptionsBytes, runtimeOptions } from "@wasm-shims/test-lab/containerd-2x.ts";

const flags = parseFlags([
  "-namespace",
  "k8s.io",
  "-address",
  "/run/containerd/containerd.sock",
  "-publish-binary",
  "/usr/local/bin/containerd",
  "-id",
  "c1",
  "start",
]);
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const str = (field: number, s: string) =>
  `${((field << 3) | 2).toString(16).padStart(2, "0")} ${s.length.toString(16).padStart(2, "0")} ${Buffer.from(s).toString("hex")}`;
const ours = {
  id: "c1",
  namespace: "k8s.io",
  grpcAddress: "/run/containerd/containerd.sock",
  ttrpcAddress: "/run/containerd/containerd.sock.ttrpc",
};

describe("what start prints", () => {
  it("is an address that containerd 2.3 cannot take for a BootstrapResult, so it reads it as the address", () => {
    // 'u' opens field 14 (fixed32, "nix:"), then '/' is wire type 7, which does not exist.
    for (const dir of ["/run/containerd/s", "/run/ctd/s", "/tmp/containerd-s-0"]) {
      expect(() =>
        fromBinary(BootstrapResultSchema, new TextEncoder().encode(`unix://${dir}/${"ab".repeat(32)}`)),
      ).toThrow();
    }
  });
});

describe("parseStartInput", () => {
  it("takes an empty stdin (any version, runtime without options) as no input", () => {
    expect(parseStartInput(new Uint8Array(), flags)).toEqual({ kind: "empty" });
  });

  it("reads containerd 1.6's options Any, the bytes observed on the wire", () => {
    // Observed from containerd 1.6.20 for `ctr run --runtime-config-path /etc/probe.toml`.
    const bytes = hex(
      `0a 19 ${Buffer.from("runtimeoptions.v1.Options").toString("hex")} 12 11 12 0f ${Buffer.from("/etc/probe.toml").toString("hex")}`,
    );
    const input = parseStartInput(bytes, flags);
    expect(input.kind).toBe("options");
    expect(input.kind === "options" && input.options.typeUrl).toBe("runtimeoptions.v1.Options");
    expect(legacyOptionsBytes(runtimeOptions("/etc/probe.toml"))).toEqual(bytes);
  });

  it("reads a BootstrapParams byte for byte as containerd 2.3 writes it", () => {
    // Assembled by hand from the field table (tag, length, bytes); log level DEBUG (-4) is a 10-byte varint.
    const bytes = hex(
      [
        str(1, "c1"),
        str(2, "k8s.io"),
        "18 fc ff ff ff ff ff ff ff ff 01",
        str(4, "2.3.4"),
        str(5, ours.ttrpcAddress),
        str(6, ours.grpcAddress),
        str(7, "/usr/local/bin/containerd"),
        str(9, "/run/ctd-s"),
      ].join(" "),
    );
    expect(bootstrapParamsBytes({ ...ours, level: "debug", socketDir: "/run/ctd-s" })).toEqual(bytes);
    const input = parseStartInput(bytes, flags);
    expect(input).toMatchObject({
      kind: "bootstrap",
      params: { instanceId: "c1", namespace: "k8s.io", containerdVersion: "2.3.4", socketDir: "/run/ctd-s" },
      options: undefined,
    });
    const config = startConfig(flags, {}, input);
    expect(config).toMatchObject({
      id: "c1",
      namespace: "k8s.io",
      address: ours.grpcAddress,
      ttrpcAddress: ours.ttrpcAddress,
      debug: true,
      socketDir: "/run/ctd-s",
    });
  });

  it("finds the runtime options among the extensions, and leaves the socket dir unset when 2.3 sends none", () => {
    const input = parseStartInput(bootstrapParamsBytes({ ...ours, options: runtimeOptions("/etc/wasm.toml") }), flags);
    expect(input.kind === "bootstrap" && input.options?.typeUrl).toBe("runtimeoptions.v1.Options");
    expect(input.kind === "bootstrap" && input.params.socketDir).toBeUndefined();
    expect(startConfig(flags, { TTRPC_ADDRESS: "/env/ttrpc" }, input)).toMatchObject({
      socketDir: undefined,
      debug: false,
      ttrpcAddress: "/env/ttrpc",
    });
  });

  it("lets the parameters stand in for flags a later containerd may stop passing", () => {
    const bare = parseFlags(["start"]);
    const input = parseStartInput(bootstrapParamsBytes({ ...ours, grpcAddress: `unix://${ours.grpcAddress}` }), bare);
    expect(startConfig(bare, {}, input)).toMatchObject({
      id: "c1",
      namespace: "k8s.io",
      address: ours.grpcAddress,
      ttrpcAddress: ours.ttrpcAddress,
    });
  });

  it("does not mistake an Any whose type URL happens to fit for parameters, nor parameters for an Any", () => {
    // An Any decodes as BootstrapParams too; only our id and namespace in fields 1 and 2 make it one.
    const any = parseStartInput(
      legacyOptionsBytes({
        $typeName: "google.protobuf.Any",
        typeUrl: "containerd.runc.v1.Options",
        value: new Uint8Array(),
      }),
      flags,
    );
    expect(any.kind).toBe("options");
    const minimal = parseStartInput(hex(`${str(1, "c1")} ${str(2, "k8s.io")}`), flags);
    expect(minimal.kind).toBe("bootstrap");
  });

  it("refuses parameters for another container, and bytes that are not protobuf, with a clear error", () => {
    expect(() => parseStartInput(bootstrapParamsBytes({ ...ours, id: "c2" }), flags)).toThrow(
      /BootstrapParams are for "c2" in namespace "k8s.io", but the flags say "c1" in "k8s.io"/,
    );
    expect(() => parseStartInput(new TextEncoder().encode('{"instance_id":"c1"}'), flags)).toThrow(/not protobuf/);
    expect(() => parseStartInput(hex("0a 05 61"), flags)).toThrow(/not protobuf/);
    expect(() =>
      startConfig(flags, {}, parseStartInput(bootstrapParamsBytes({ ...ours, socketDir: "relative/s" }), flags)),
    ).toThrow(/not an absolute path/);
  });

  // start reads stdin with the wire reader (the generated descriptors cost every start tens of ms):
  // it must agree with the generated decoder on every field.
  it("reads BootstrapParams exactly as the generated decoder does", () => {
    const message = create(BootstrapParamsSchema, {
      instanceId: "c1",
      namespace: "k8s.io",
      logLevel: -8,
      containerdVersion: "2.3.0-\u00e9",
      containerdTtrpcAddress: ours.ttrpcAddress,
      containerdGrpcAddress: ours.grpcAddress,
      containerdBinary: "/usr/bin/containerd",
      extensions: [
        create(ExtensionSchema, { value: anyPack(StringValueSchema, create(StringValueSchema, { value: "x" })) }),
        create(ExtensionSchema, {}),
        create(ExtensionSchema, { value: runtimeOptions("/etc/wasm.toml") }),
      ],
      socketDir: "/run/ctd-s",
    });
    const bytes = toBinary(BootstrapParamsSchema, message);
    const input = parseStartInput(bytes, flags);
    const generated = fromBinary(BootstrapParamsSchema, bytes);
    if (input.kind !== "bootstrap") throw new Error(input.kind);
    const { $typeName: _, extensions, ...fields } = generated;
    expect(input.params).toEqual({
      ...fields,
      extensions: extensions.flatMap((e) => (e.value ? [{ typeUrl: e.value.typeUrl, value: e.value.value }] : [])),
    });
    expect(input.options?.typeUrl).toBe("runtimeoptions.v1.Options");
    expect(input.debug).toBe(true);
    const any = toBinary(AnySchema, runtimeOptions("/etc/x.toml"));
    const asOptions = parseStartInput(any, flags);
    expect(asOptions).toEqual({
      kind: "options",
      options: { typeUrl: "runtimeoptions.v1.Options", value: fromBinary(AnySchema, any).value },
    });
  });
});
