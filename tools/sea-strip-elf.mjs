// Used by tools/sea-build.mjs on the Node binary a shim executable is made from.

import { readElf, SHT_NOBITS, SHT_SYMTAB } from "./sea-elf.mjs";

// Drops .symtab/.strtab and .debug* from a 64-bit little-endian ELF executable. Everything the
// loader maps (bytes up to the end of the last segment) is left untouched; non-allocated sections
// that are kept (.comment, .shstrtab, notes) are moved down behind it, and the section header
// table is rewritten with the indices renumbered.
export function stripElf(buf, arch) {
  const { phoff, phentsize, phnum, shnum, shstrndx, segments, ...elf } = readElf(buf, arch);
  if (shnum === 0 || shstrndx >= 0xff00) throw new Error("extended ELF section numbering is not supported");

  let mappedEnd = phoff + phentsize * phnum;
  for (const p of segments) mappedEnd = Math.max(mappedEnd, p.offset + p.filesz);

  const SHF_ALLOC = 0x2,
    SHF_INFO_LINK = 0x40,
    SHT_RELA = 4,
    SHT_REL = 9,
    SHT_SYMTAB_SHNDX = 18;
  const sections = elf.sections.map((s) => ({ ...s, header: Buffer.from(buf.subarray(s.at, s.at + elf.shentsize)) }));
  const strtab = sections[shstrndx];
  const nameOf = (s) => {
    const start = strtab.offset + s.nameOff;
    return buf.toString("latin1", start, buf.indexOf(0, start));
  };

  const drop = new Set();
  sections.forEach((s, i) => {
    const name = nameOf(s);
    if (s.type === SHT_SYMTAB || s.type === SHT_SYMTAB_SHNDX || name.startsWith(".debug") || name.startsWith(".zdebug"))
      drop.add(i);
  });
  for (const i of [...drop]) {
    const s = sections[i];
    if (s.type === SHT_SYMTAB && s.link !== shstrndx && !(sections[s.link].flags & SHF_ALLOC)) drop.add(s.link);
  }
  sections.forEach((s, i) => {
    if ((s.type === SHT_REL || s.type === SHT_RELA) && s.info !== 0 && drop.has(s.info) && !(s.flags & SHF_ALLOC))
      drop.add(i);
  });

  const newIndex = new Map();
  const kept = [];
  sections.forEach((s, i) => {
    if (!drop.has(i)) {
      newIndex.set(i, kept.length);
      kept.push(s);
    }
  });
  const remap = (i) => {
    const n = newIndex.get(i);
    if (n === undefined) throw new Error(`a kept section refers to dropped section ${i}`);
    return n;
  };

  const chunks = [buf.subarray(0, mappedEnd)];
  let pos = mappedEnd;
  const moved = kept
    .filter((s) => s.type !== SHT_NOBITS && s.size > 0 && s.offset + s.size > mappedEnd)
    .sort((a, b) => a.offset - b.offset);
  for (const s of moved) {
    const aligned = Math.ceil(pos / s.align) * s.align;
    if (aligned > pos) chunks.push(Buffer.alloc(aligned - pos));
    chunks.push(buf.subarray(s.offset, s.offset + s.size));
    s.header.writeBigUInt64LE(BigInt(aligned), 24);
    pos = aligned + s.size;
  }
  const newShoff = Math.ceil(pos / 8) * 8;
  if (newShoff > pos) chunks.push(Buffer.alloc(newShoff - pos));
  for (const s of kept) {
    if (s.link !== 0) s.header.writeUInt32LE(remap(s.link), 40);
    if (s.info !== 0 && (s.flags & SHF_INFO_LINK || s.type === SHT_REL || s.type === SHT_RELA))
      s.header.writeUInt32LE(remap(s.info), 44);
    chunks.push(s.header);
  }
  const out = Buffer.concat(chunks);
  out.writeBigUInt64LE(BigInt(newShoff), 40);
  out.writeUInt16LE(kept.length, 60);
  out.writeUInt16LE(remap(shstrndx), 62);
  return out;
}
