import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileGuestsLazily, sdkRuntimeFile, substituteGuest } from "../../src/compile.ts";
import { standIn } from "../../src/stand-in.ts";

// (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (memory (export "memory") 1)
//   (global (export "g") i32 (i32.const 7)) (func (export "_start") i32.const 42 call 0)
//   (data (i32.const 16) "hi"), and an empty custom "name" section.
const guest = new Uint8Array([
  0,
  0x61,
  0x73,
  0x6d,
  1,
  0,
  0,
  0,
  // type: (i32) -> (), () -> ()
  1,
  8,
  2,
  0x60,
  1,
  0x7f,
  0,
  0x60,
  0,
  0,
  // import wasi_snapshot_preview1.proc_exit : type 0
  2,
  0x24,
  1,
  22,
  ...new TextEncoder().encode("wasi_snapshot_preview1"),
  9,
  ...new TextEncoder().encode("proc_exit"),
  0,
  0,
  // function: one of type 1
  3,
  2,
  1,
  1,
  // memory: min 1
  5,
  3,
  1,
  0,
  1,
  // global: i32 const 7
  6,
  6,
  1,
  0x7f,
  0,
  0x41,
  7,
  0x0b,
  // export: memory, g, _start
  7,
  0x17,
  3,
  6,
  ...new TextEncoder().encode("memory"),
  2,
  0,
  1,
  0x67,
  3,
  0,
  6,
  ...new TextEncoder().encode("_start"),
  0,
  1,
  // code: i32.const 42; call 0; end
  10,
  8,
  1,
  6,
  0,
  0x41,
  42,
  0x10,
  0,
  0x0b,
  // data: active at 16, "hi"
  11,
  8,
  1,
  0,
  0x41,
  16,
  0x0b,
  2,
  0x68,
  0x69,
  // custom "name": empty payload after the name
  0,
  5,
  4,
  ...new TextEncoder().encode("name"),
]);

describe("a guest's stand-in, packaged for the SDK in its place", () => {
  it("has the module's interface: its imports, exports and custom sections but the names", () => {
    const real = new WebAssembly.Module(guest);
    const stand = new WebAssembly.Module(standIn(guest));
    expect(WebAssembly.Module.imports(stand)).toEqual(WebAssembly.Module.imports(real));
    expect(WebAssembly.Module.exports(stand)).toEqual(WebAssembly.Module.exports(real));
    expect(WebAssembly.Module.customSections(real, "name")).toHaveLength(1);
    expect(WebAssembly.Module.customSections(stand, "name")).toHaveLength(0);
  });

  it("does none of its work: every function traps and its memory holds none of its data", () => {
    let exited: number | undefined;
    const imports = { wasi_snapshot_preview1: { proc_exit: (code: number) => void (exited = code) } };
    const real = new WebAssembly.Instance(new WebAssembly.Module(guest), imports).exports;
    (real._start as () => void)();
    expect(exited).toBe(42);
    expect(new TextDecoder().decode(new Uint8Array((real.memory as WebAssembly.Memory).buffer, 16, 2))).toBe("hi");
    exited = undefined;
    const stand = new WebAssembly.Instance(new WebAssembly.Module(standIn(guest)), imports).exports;
    expect(() => (stand._start as () => void)()).toThrow(WebAssembly.RuntimeError);
    expect(exited).toBeUndefined();
    expect(new Uint8Array((stand.memory as WebAssembly.Memory).buffer, 16, 2)).toEqual(new Uint8Array(2));
    expect((stand.g as WebAssembly.Global).value).toBe(7);
  });

  it("is a small part of a large module with the same interface", () => {
    const sdk = new Uint8Array(readFileSync(sdkRuntimeFile));
    const stand = standIn(sdk);
    expect(stand.byteLength).toBeLessThan(sdk.byteLength / 10);
    const [a, b] = [new WebAssembly.Module(sdk), new WebAssembly.Module(stand)];
    expect(WebAssembly.Module.imports(b)).toEqual(WebAssembly.Module.imports(a));
    expect(WebAssembly.Module.exports(b)).toEqual(WebAssembly.Module.exports(a));
  });

  it("compiles, once the guest's compiles are hooked, to the guest's own module, and nothing else does", () => {
    const Original = WebAssembly.Module;
    compileGuestsLazily();
    try {
      const stand = standIn(guest);
      substituteGuest(stand, guest);
      // The SDK hands over bytes it copied out of its own memory: equal, not the same array.
      const first = new WebAssembly.Module(stand.slice());
      expect(WebAssembly.Module.customSections(first, "name")).toHaveLength(1);
      expect(new WebAssembly.Module(stand.slice())).toBe(first);
      expect(first).toBeInstanceOf(WebAssembly.Module);
      const other = standIn(new Uint8Array(readFileSync(sdkRuntimeFile)));
      expect(new WebAssembly.Module(other)).not.toBe(first);
    } finally {
      Object.defineProperty(WebAssembly, "Module", { configurable: true, writable: true, value: Original });
    }
  });
});
