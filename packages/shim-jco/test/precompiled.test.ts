import { describe, expect, it } from "vitest";
import { packTranspiled, unpackTranspiled } from "../src/precompiled.ts";

describe("packTranspiled", () => {
  it("round-trips a transpile output", () => {
    const out = {
      exports: ["wasi:cli/run@0.2.3"],
      files: {
        "component.mjs": new TextEncoder().encode("export {}"),
        "component.core.wasm": Uint8Array.of(0, 0x61, 0x73, 0x6d),
        empty: new Uint8Array(),
      },
    };
    expect(unpackTranspiled(packTranspiled(out))).toEqual(out);
  });
  it("refuses names that would leave the cache entry, and truncated blobs", () => {
    const bad = packTranspiled({ exports: [], files: { "../x": Uint8Array.of(1) } });
    expect(() => unpackTranspiled(bad)).toThrow(/bad entry "\.\.\/x"/);
    const good = packTranspiled({ exports: [], files: { a: Uint8Array.of(1, 2, 3) } });
    expect(() => unpackTranspiled(good.subarray(0, good.length - 1))).toThrow(/bad entry "a"/);
  });
});
