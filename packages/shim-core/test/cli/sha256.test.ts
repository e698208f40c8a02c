import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/cli/sha256.ts";

const reference = (text: string) => createHash("sha256").update(text).digest("hex");

describe("sha256Hex", () => {
  it("gives FIPS 180-4's digests for its examples", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("agrees with node:crypto on every length across block boundaries, and on non-ASCII text", () => {
    for (let n = 0; n < 300; n++) {
      const text = randomBytes(n).toString("latin1");
      expect(sha256Hex(text), `length ${n}`).toBe(reference(text));
    }
    const path = "/run/containerd/containerd.sock/k8s.io/pod-é-日本";
    expect(sha256Hex(path)).toBe(reference(path));
  });
});
