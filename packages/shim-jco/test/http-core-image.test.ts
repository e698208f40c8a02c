import { describe, expect, it } from "vitest";
import { IMAGE_IMPORT_MODULE, IMAGE_IMPORT_NAME, rewriteMemory } from "../src/http/core-image.ts";
import { MemoryBank } from "../src/http/instances.ts";

const wat = async (text: string) => {
  const { parse } = await import("@bytecodealliance/jco-transpile/wasm-tools");
  return new Uint8Array(await parse(text));
};

// Reads a byte, writes a byte, grows: enough to tell a fresh memory from a used one.
const probe = `
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "set") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "size") (result i32) (memory.size))`;

type Probe = { get(a: number): number; set(a: number, v: number): void; grow(): number; size(): number };

function run(module: Uint8Array<ArrayBuffer>, memory?: WebAssembly.Memory): Probe {
  const imports = memory ? { [IMAGE_IMPORT_MODULE]: { [IMAGE_IMPORT_NAME]: memory } } : {};
  return new WebAssembly.Instance(new WebAssembly.Module(module), imports).exports as unknown as Probe;
}

describe("memory images", () => {
  it("moves a module's memory to an import and its data into an image, with the same contents", async () => {
    const original = await wat(`(module (memory (export "memory") 2 10)
      (data (i32.const 16) "hello") (data (i32.const 70000) "\\01\\02") (data (i32.const 18) "LL") ${probe})`);
    const rewritten = rewriteMemory(original)!;
    expect(rewritten).toBeDefined();
    const mod = new WebAssembly.Module(rewritten.module);
    expect(WebAssembly.Module.imports(mod)).toEqual([
      { module: IMAGE_IMPORT_MODULE, name: IMAGE_IMPORT_NAME, kind: "memory" },
    ]);
    expect(rewritten.image).toMatchObject({
      initialPages: 2,
      maximumPages: 10,
      runs: [
        { start: 16, end: 21 },
        { start: 70000, end: 70002 },
      ],
    });

    const fresh = run(original);
    const bank = new MemoryBank(rewritten.image, 2);
    const memory = bank.take();
    const imaged = run(rewritten.module, memory);
    for (const addr of [15, 16, 17, 18, 19, 20, 21, 69999, 70000, 70001, 70002])
      expect(imaged.get(addr)).toBe(fresh.get(addr));
    expect(imaged.size()).toBe(2);
  });

  it("hands a used memory to the next instance exactly as new, and drops one that grew", async () => {
    const rewritten = rewriteMemory(await wat(`(module (memory 1) (data (i32.const 8) "\\2a") ${probe})`))!;
    const bank = new MemoryBank(rewritten.image, 1);
    const first = bank.take();
    const a = run(rewritten.module, first);
    a.set(8, 7);
    a.set(500, 9);
    bank.give(first);
    const second = bank.take();
    expect(second).toBe(first);
    const b = run(rewritten.module, second);
    expect([b.get(8), b.get(500)]).toEqual([42, 0]);

    b.grow();
    bank.give(second);
    const third = bank.take();
    expect(third).not.toBe(second);
    expect(run(rewritten.module, third).size()).toBe(1);
  });

  it("keeps passive segments (memory.init still works) and a module's start function", async () => {
    const original = await wat(`(module (memory 1) (global $g (mut i32) (i32.const 0))
      (data $p "xyz") (data (i32.const 4) "ab")
      (func $start (memory.init $p (i32.const 100) (i32.const 0) (i32.const 3)))
      (start $start) ${probe})`);
    const rewritten = rewriteMemory(original)!;
    const p = run(rewritten.module, new MemoryBank(rewritten.image, 1).take());
    expect([p.get(4), p.get(5), p.get(100), p.get(102)]).toEqual([97, 98, 120, 122]);
  });

  it("leaves alone what it cannot image: no memory, an imported one, computed offsets, out of bounds", async () => {
    expect(rewriteMemory(await wat(`(module (func (export "f")))`))).toBeUndefined();
    expect(
      rewriteMemory(await wat(`(module (import "env" "memory" (memory 1)) (data (i32.const 0) "a"))`)),
    ).toBeUndefined();
    expect(
      rewriteMemory(await wat(`(module (import "env" "g" (global $g i32)) (memory 1) (data (global.get $g) "a"))`)),
    ).toBeUndefined();
    expect(rewriteMemory(await wat(`(module (memory 1) (data (i32.const 65535) "ab"))`))).toBeUndefined();
    expect(rewriteMemory(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });
});
