// Used by tools/sea-build.mjs on an x64 shim executable once its blob is in.

// Puts packages/shim-core/native/entry/ in front of Node: compiled into one flat
// block of position-independent code, copied into the padding after the end of an executable
// segment (Node's own `lpstub` segment has 2.3 kB of it), the segment grown over it, and the ELF
// entry point moved there. The block's 8-byte slot, found by its marker, gets Node's entry, to
// which it jumps whenever it does not answer itself. Nothing the loader maps moves.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readElf, SHT_NOBITS } from "./sea-elf.mjs";

const entryDir = resolve(dirname(fileURLToPath(import.meta.url)), "../packages/shim-core/native/entry");
const ENTRY_SOURCES = ["entry.c", "fast_delete.c", "fast_start.c", "own_spare.c", "sha256.c"];
const SLOT_MARKER = Buffer.from("SNORETRY", "latin1");
const PT_LOAD = 1,
  PF_X = 1,
  PAGE = 0x1000;

/** Compiles and links the stub with `cc` (gcc or clang for x86-64) into its flat bytes. */
export function buildEntryStub(cc = process.env.CC || "cc") {
  const dir = mkdtempSync(join(tmpdir(), "entry-stub-"));
  try {
    const elf = join(dir, "stub.elf"),
      bin = join(dir, "stub.bin");
    // No libc, no data sections, no unwind tables, no stack protector (its canary lives in TLS,
    // which Node has not set up yet), and no calls to memset/memcpy that the compiler invents.
    const flags = "-std=c11 -Os -fPIC -ffreestanding -fno-builtin -nostdlib -static -fno-stack-protector"
      .concat(" -fno-asynchronous-unwind-tables -fno-jump-tables -fcf-protection=none -fvisibility=hidden")
      .concat(" -fno-tree-loop-distribute-patterns -Wall -Wextra -Werror -Wl,--build-id=none")
      .split(" ");
    execFileSync(
      cc,
      [...flags, `-Wl,-T,${join(entryDir, "stub.ld")}`, "-o", elf, ...ENTRY_SOURCES.map((f) => join(entryDir, f))],
      {
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", elf, bin]);
    return readFileSync(bin);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Returns a copy of the x86-64 ELF `exe` whose entry point is `stub`, with Node's entry in the
 * stub's slot. Throws when no executable segment has room after it: the executable would work
 * without the stub, but every container's removal would boot Node again, so the build says so.
 */
export function installEntryStub(exe, stub) {
  const { phoff, phentsize, phnum, shoff, shentsize, shnum, segments: segs, sections } = readElf(exe, "x64");
  const slot = stub.indexOf(SLOT_MARKER);
  if (slot < 0 || stub.indexOf(SLOT_MARKER, slot + 1) >= 0 || slot % 8 !== 0)
    throw new Error("the entry stub has no single aligned slot for Node's entry");
  // What else lies in the file: the headers' tables, and every section's bytes.
  const taken = [
    [0, 64],
    [phoff, phoff + phentsize * phnum],
    [shoff, shoff + shentsize * shnum],
  ];
  for (const s of sections) if (s.type !== SHT_NOBITS) taken.push([s.offset, s.offset + s.size]);
  for (const s of segs) if (s.type !== 0) taken.push([s.offset, s.offset + s.filesz]);
  const loads = segs.filter((s) => s.type === PT_LOAD);
  for (const seg of loads) {
    if (!(seg.flags & PF_X) || seg.filesz !== seg.memsz) continue;
    const at = Math.ceil((seg.offset + seg.filesz) / 16) * 16;
    const end = at + stub.length;
    const vaddr = seg.vaddr + (at - seg.offset);
    const vend = vaddr + stub.length;
    // The grown segment may not reach a page another segment maps, nor bytes anything owns.
    const clash = loads.some(
      (o) =>
        o !== seg && o.vaddr + o.memsz > seg.vaddr && Math.floor(o.vaddr / PAGE) * PAGE < Math.ceil(vend / PAGE) * PAGE,
    );
    const owned = taken.some(([a, b]) => a < end && b > at && !(a === seg.offset && b === seg.offset + seg.filesz));
    if (clash || owned || end > exe.length || exe.subarray(at, end).some((b) => b !== 0)) continue;
    const out = Buffer.from(exe);
    stub.copy(out, at);
    out.writeBigUInt64LE(exe.readBigUInt64LE(24), at + slot);
    out.writeBigUInt64LE(BigInt(end - seg.offset), seg.at + 32);
    out.writeBigUInt64LE(BigInt(end - seg.offset), seg.at + 40);
    out.writeBigUInt64LE(BigInt(vaddr), 24);
    return out;
  }
  throw new Error(`no executable segment has ${stub.length} free bytes after it for the entry stub`);
}
