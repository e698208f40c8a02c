import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  compileGuestsLazily,
  compileSdkRuntime,
  compileTrusted,
  SHA256_BLOCKS_FUNCTION,
  sdkRuntimeFile,
} from "../../src/compile.ts";

/**
 * Indices (imports counted) of the functions that rotate as SHA-256's rounds do, 64 times each:
 * Σ1 rotates right by 6, 11 and 25 and Σ0 by 2, 13 and 22, which a compiler writes as
 * `i32.const 26|21|7|30|19|10; i32.rotl`. Only an unrolled block function has all six 64 times.
 */
function sha256BlockFunctions(wasm: Uint8Array): number[] {
  let at = 8;
  const u32 = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wasm[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const skip = () => {
    const length = u32();
    at += length;
  };
  const limits = () => {
    const flags = u32();
    u32();
    if (flags & 1) u32();
  };
  let imported = 0;
  const found: number[] = [];
  while (at < wasm.length) {
    const id = wasm[at++]!;
    const size = u32();
    const end = at + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        skip();
        skip();
        const kind = wasm[at++];
        if (kind === 0) u32(), imported++;
        else if (kind === 1) at++, limits();
        else if (kind === 2) limits();
        else if (kind === 3) at += 2;
        else if (kind === 4) at++, u32();
      }
    }
    if (id === 10) {
      const count = u32();
      for (let i = 0; i < count; i++) {
        const size = u32();
        const body = wasm.subarray(at, at + size);
        const rotations = (by: number) => {
          let n = 0;
          for (let j = 0; j + 2 < body.length; j++)
            if (body[j] === 0x41 && body[j + 1] === by && body[j + 2] === 0x77) n++;
          return n;
        };
        if ([26, 21, 7, 30, 19, 10].every((by) => rotations(by) === 64)) found.push(imported + i);
        at += size;
      }
    }
    at = end;
  }
  return found;
}

describe("the SDK's runtime, compiled with its SHA-256 optimized", () => {
  it("names the pinned SDK's one SHA-256 block function", () => {
    expect(sha256BlockFunctions(readFileSync(sdkRuntimeFile))).toEqual([SHA256_BLOCKS_FUNCTION]);
  });

  it("uses a flag the embedded Node's V8 has", () => {
    const options = execFileSync(process.execPath, ["--v8-options"], { encoding: "utf8" });
    expect(options).toContain("--wasm-eager-tier-up-function");
  });

  it("compiles it, and leaves the flag unset for the modules compiled after it", async () => {
    expect(WebAssembly.Module.exports(compileSdkRuntime()).length).toBeGreaterThan(100);
    // With the flag still set, this compile would never settle.
    const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    await expect(WebAssembly.compile(empty)).resolves.toBeInstanceOf(WebAssembly.Module);
  });

  it("validates it lazily, and every module compiled after it in full again", () => {
    // Bytes of their own (a custom section after the code): V8 shares a compiled module between
    // equal bytes, and the next test compiles invalidBody eagerly.
    const trusted = Uint8Array.from([...invalidBody, 0, 5, 4, 0x74, 0x65, 0x73, 0x74]);
    // A function that fails its validation compiles: V8 has not validated it (it would abort the
    // process if it were ever called with the flag unset, which a trusted module never is).
    expect(WebAssembly.Module.exports(compileTrusted(trusted))).toEqual([{ name: "f", kind: "function" }]);
    const again = Uint8Array.from([...invalidBody, 0, 5, 4, 0x61, 0x67, 0x61, 0x6e]);
    expect(() => new WebAssembly.Module(again)).toThrow(WebAssembly.CompileError);
  });
});

// (func (export "f") (result i32) i32.add): well-formed, but its body does not validate.
const invalidBody = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, 0x66, 0, 0, 10, 5, 1, 3, 0, 0x6a,
  0x0b,
]);

describe("the guest's module, compiled as the SDK spawns it", () => {
  it("is validated function by function as each is first compiled, a bad one with a CompileError", () => {
    const Original = WebAssembly.Module;
    expect(() => new Original(invalidBody)).toThrow(WebAssembly.CompileError);
    compileGuestsLazily();
    try {
      // Not yet: the flag comes with the SDK's first compile, once everything has loaded.
      expect(() => new Original(invalidBody)).toThrow(WebAssembly.CompileError);
      const module = new WebAssembly.Module(invalidBody);
      const { f } = new WebAssembly.Instance(module).exports as { f: () => number };
      // With the flag unset again here, V8 would abort this process instead.
      expect(() => f()).toThrow(WebAssembly.CompileError);
      // The SDK asks `instanceof WebAssembly.Module` of modules compiled either way.
      expect(new Original(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBeInstanceOf(WebAssembly.Module);
      expect(module).toBeInstanceOf(Original);
      expect(WebAssembly.Module.exports(module)).toEqual([{ name: "f", kind: "function" }]);
    } finally {
      Object.defineProperty(WebAssembly, "Module", { configurable: true, writable: true, value: Original });
    }
  });
});
