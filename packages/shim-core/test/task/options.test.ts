import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OptionsSchema as RuncOptions } from "../../src/gen/containerd/runc/v1/options_pb.ts";
import { OptionsSchema as RuntimeOptions } from "../../src/gen/runtimeoptions/v1/options_pb.ts";
import { parseFlatToml, parseRuntimeOptions } from "../../src/task/options.ts";

describe("parseRuntimeOptions", () => {
  it("defaults to runc on PATH with cgroupfs", () => {
    expect(parseRuntimeOptions(undefined)).toEqual({ runcBinary: "runc", systemdCgroup: false });
  });

  it("reads containerd.runc.v1.Options", () => {
    const any = anyPack(RuncOptions, create(RuncOptions, { binaryName: "crun", root: "/run/x", systemdCgroup: true }));
    expect(parseRuntimeOptions(any)).toEqual({ runcBinary: "crun", runcRoot: "/run/x", systemdCgroup: true });
  });

  it("reads CRI's runtimeoptions.v1 TOML body (containerd 1.7+)", () => {
    const body = new TextEncoder().encode('SystemdCgroup = true\nBinaryName = "crun"  # comment\n');
    const any = anyPack(RuntimeOptions, create(RuntimeOptions, { typeUrl: "x", configBody: body }));
    expect(parseRuntimeOptions(any)).toMatchObject({ systemdCgroup: true, runcBinary: "crun" });
  });

  it("reads the TOML file named by ConfigPath (containerd 1.6)", () => {
    const dir = mkdtempSync(join(tmpdir(), "opts-"));
    const file = join(dir, "shim.toml");
    writeFileSync(file, "SystemdCgroup = true\n");
    const any = anyPack(RuntimeOptions, create(RuntimeOptions, { configPath: file }));
    try {
      expect(parseRuntimeOptions(any).systemdCgroup).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const missing = anyPack(RuntimeOptions, create(RuntimeOptions, { configPath: "/nonexistent.toml" }));
    expect(() => parseRuntimeOptions(missing)).toThrow(/runtime options file \/nonexistent.toml/);
  });

  it("ignores option types it does not know", () => {
    expect(
      parseRuntimeOptions({
        $typeName: "google.protobuf.Any",
        typeUrl: "example.Unknown",
        value: toBinary(RuncOptions, create(RuncOptions)),
      }),
    ).toEqual({ runcBinary: "runc", systemdCgroup: false });
  });
});

describe("parseFlatToml", () => {
  it("parses strings, booleans and integers and skips tables and junk", () => {
    expect(parseFlatToml("[table]\na = 'x'\nb = false\nc = -3\nd = [1]\n=bad\n")).toEqual({ a: "x", b: false, c: -3 });
  });
});
