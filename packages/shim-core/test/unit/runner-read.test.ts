import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MODULE_ROOM, owned, readBytes, readModule, roomAfter } from "../../src/wasm/runner-boot.ts";

describe("the runner's module bytes", () => {
  it("keeps bytes over an ArrayBuffer, and copies shared memory", () => {
    const part = new Uint8Array(new ArrayBuffer(8), 2, 4);
    expect(owned(part).buffer).toBe(part.buffer);
    expect([owned(part).byteOffset, owned(part).byteLength]).toEqual([2, 4]);
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    shared.set([1, 2, 3, 4]);
    const copy = owned(shared);
    expect(copy.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...copy]).toEqual([1, 2, 3, 4]);
  });

  it("reads a small file (from Node's shared pool) and a large one into buffers of their own", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-read-"));
    try {
      for (const size of [100, 1 << 20]) {
        const file = join(dir, `m${size}`);
        const bytes = Buffer.alloc(size, 7);
        writeFileSync(file, bytes);
        const read = readBytes(file);
        expect(read.buffer.byteLength).toBe(size);
        expect(Buffer.from(read).equals(bytes)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the guest's module with room after it that only the engine may write", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-read-"));
    try {
      const file = join(dir, "m.wasm");
      writeFileSync(file, Buffer.alloc(5000, 3));
      const module = readModule(file);
      expect(Buffer.from(module).equals(Buffer.alloc(5000, 3))).toBe(true);
      expect(roomAfter(module)).toBe(MODULE_ROOM);
      expect(roomAfter(owned(module))).toBe(MODULE_ROOM);
      // A Buffer of Node's (its pool's room is other Buffers') and a copy have none.
      expect(roomAfter(readFileSync(file))).toBe(0);
      expect(roomAfter(Buffer.from("x"))).toBe(0);
      expect(roomAfter(module.slice())).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
