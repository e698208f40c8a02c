import { describe, expect, it } from "vitest";
import { parseFlags } from "../../src/cli/flags.ts";

describe("parseFlags", () => {
  it("reads containerd 1.6's start invocation", () => {
    const f = parseFlags([
      "-namespace",
      "default",
      "-address",
      "/run/c.sock",
      "-publish-binary",
      "/usr/bin/containerd",
      "-id",
      "c1",
      "-debug",
      "start",
    ]);
    expect(f).toMatchObject({
      namespace: "default",
      address: "/run/c.sock",
      publishBinary: "/usr/bin/containerd",
      id: "c1",
      debug: true,
      action: "start",
    });
  });

  it("reads the delete invocation with -bundle", () => {
    const f = parseFlags([
      "-namespace",
      "k8s.io",
      "-address",
      "/a",
      "-publish-binary",
      "/b",
      "-id",
      "x",
      "-bundle",
      "/state/x",
      "delete",
    ]);
    expect(f).toMatchObject({ bundle: "/state/x", action: "delete", debug: false });
  });

  it("accepts -name=value and --name value, as Go's flag package does", () => {
    expect(parseFlags(["--namespace", "ns", "-id=abc", "start"])).toMatchObject({
      namespace: "ns",
      id: "abc",
      action: "start",
    });
  });

  it("handles -v, -version and -info with no other flags", () => {
    expect(parseFlags(["-v"]).version).toBe(true);
    expect(parseFlags(["--version"]).version).toBe(true);
    expect(parseFlags(["-info"]).info).toBe(true);
  });

  it("skips unknown flags, with or without a value, instead of failing", () => {
    const f = parseFlags(["-debug-socket", "/x.sock", "-namespace", "n", "-future-bool", "-id", "i", "start"]);
    expect(f).toMatchObject({ namespace: "n", id: "i", action: "start" });
    expect(parseFlags(["-new-flag", "delete"]).action).toBe("delete");
  });

  it("stops at the first non-flag word", () => {
    const f = parseFlags(["-id", "a", "start", "-id", "b"]);
    expect(f.id).toBe("a");
    expect(f.rest).toEqual(["-id", "b"]);
  });
});
