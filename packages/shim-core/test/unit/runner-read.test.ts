import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { owned, readBytes } from "../../src/wasm/runner-boot.ts";

describe("the runner's module bytes", () => {
  it("keeps bytes that are all of an ArrayBuffer, and copies a view or shared memory", () => {
    const whole = new Uint8Array([0, 97, 115, 109]);
    expect(owned(whole).buffer).toBe(whole.buffer);
    const part = new Uint8Array(new ArrayBuffer(8), 2, 4);
    expect(owned(part).buffer).not.toBe(part.buffer);
    expect(owned(part).byteLength).toBe(4);
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
});
