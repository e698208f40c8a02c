import { describe, expect, it } from "vitest";
import { chooseSchema, containerdMajor, runtimesPath } from "../../src/install/schema.ts";

// What `containerd --version` prints on the versions docs/kubernetes.md covers.
const versions = [
  ["containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", 1],
  ["containerd containerd.io 1.7.27 0123abcd", 1],
  ["containerd github.com/containerd/containerd/v2 v2.0.5 0123abcd", 2],
  ["containerd github.com/containerd/containerd/v2 v2.3.4 0123abcd", 2],
  ["containerd containerd.io v2.4.0-beta.0 0123abcd", 2],
] as const;

describe("the config schema for each containerd", () => {
  it("writes version = 3 under io.containerd.cri.v1.runtime for every 2.x, version = 2 for 1.6 and 1.7", () => {
    for (const [text, major] of versions) {
      expect(containerdMajor(text)).toBe(major);
      const choice = chooseSchema({}, () => text);
      expect(choice).toMatchObject({ schema: major === 2 ? 3 : 2, addVersion: true });
      expect(runtimesPath(choice.schema)).toEqual([
        "plugins",
        major === 2 ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri",
        "containerd",
        "runtimes",
      ]);
    }
  });

  it("keeps a file's own version, which 2.x migrates from 2 when it loads", () => {
    expect(chooseSchema({ version: 2 }, () => versions[3][0]).schema).toBe(2);
    expect(chooseSchema({ version: 3 }, () => versions[0][0]).schema).toBe(3);
  });
});
