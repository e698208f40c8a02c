import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/wasm/engine.ts";
import { precompileSecret, PRECOMPILE_KEY_ENV } from "../../src/wasm/precompile-key.ts";
import { compilerKey, open, precompiledLabel, seal } from "../../src/wasm/precompiled.ts";

const dir = mkdtempSync(join(tmpdir(), "precompiled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const secret = new Uint8Array(32).fill(7);
const envelope = { engine: "jco", key: "k1", source: `sha256:${"a".repeat(64)}` };
const payload = new TextEncoder().encode("compiled bytes");

describe("seal and open", () => {
  it("gives back the payload of a blob sealed for this engine, key and layer", () => {
    expect(open(seal(envelope, payload, secret), envelope, secret)).toEqual({ payload });
    expect(open(seal(envelope, new Uint8Array(), secret), envelope, secret)).toEqual({ payload: new Uint8Array() });
  });

  it("refuses a tampered blob, another node's, another layer's or compiler's, and anything else", () => {
    const blob = Buffer.from(seal(envelope, payload, secret));
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 40] = tampered.at(-40)! ^ 1;
    expect(open(tampered, envelope, secret)).toEqual({ refused: expect.stringMatching(/seal does not match/) });
    expect(open(blob, envelope, new Uint8Array(32).fill(8))).toEqual({
      refused: expect.stringMatching(/seal does not match/),
    });
    expect(open(seal({ ...envelope, source: "sha256:other" }, payload, secret), envelope, secret)).toEqual({
      refused: expect.stringMatching(/made for source sha256:other/),
    });
    expect(open(seal({ ...envelope, key: "k0" }, payload, secret), envelope, secret)).toEqual({
      refused: expect.stringMatching(/made for key k0, not k1/),
    });
    expect(
      open(new TextEncoder().encode("\0asm plus anything at all, long enough to hold a mac......"), envelope, secret),
    ).toEqual({ refused: "not a precompiled blob of this shim" });
  });
});

describe("compilerKey and the GC label", () => {
  const engine = (over: Partial<Engine> = {}): Engine => ({ name: "jco", version: "1", run: async () => 0, ...over });
  it("changes with the engine, its compiler and the shim", () => {
    const k = compilerKey(engine(), "v1");
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(compilerKey(engine(), "v1")).toBe(k);
    expect(compilerKey(engine({ version: "2" }), "v1")).not.toBe(k);
    expect(compilerKey(engine({ precompileKey: "x" }), "v1")).not.toBe(k);
    expect(compilerKey(engine(), "v2")).not.toBe(k);
  });
  it("is a containerd GC content reference, so the blob lives as long as the layer", () => {
    expect(precompiledLabel("jco", "abc")).toBe("containerd.io/gc.ref.content.wasm-shims.jco.abc");
  });
});

describe("precompileSecret", () => {
  it("makes a root-only 32-byte key once and reads it after", async () => {
    const file = join(dir, "state", "precompile.key");
    const env = { [PRECOMPILE_KEY_ENV]: file };
    const [a, b] = await Promise.all([precompileSecret("x", env), precompileSecret("x", env)]);
    expect(a).toHaveLength(32);
    expect(b).toEqual(a);
    expect(new Uint8Array(readFileSync(file))).toEqual(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "short");
    await expect(precompileSecret("x", { [PRECOMPILE_KEY_ENV]: bad })).rejects.toThrow(/is 5 bytes, not a 32-byte key/);
  });
});
