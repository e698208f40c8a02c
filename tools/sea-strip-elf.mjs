// Used by tools/sea-build.mjs on the Node binary a shim executable is made from.

// Drops .symtab/.strtab and .debug* from a 64-bit little-endian ELF executable. Everything the
// loader maps (bytes up to the end of the last segment) is left untouched; non-allocated sections
// that are kept (.comment, .shstrtab, notes) are moved down behind it, and the section header
// table is rewritten with the indices renumbered.
export function stripElf(buf, arch) {
  const machine = { x64: 62, arm64: 183 }[arch];
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new Error("not a 64-bit little-endian ELF");
  if (buf.readUInt16LE(18) !== machine) throw new Error(`ELF machine ${buf.readUInt16LE(18)} is not ${arch}`);
  const num = (off) => Number(buf.readBigUInt64LE(off));
  const phoff = num(32),
    shoff = num(40);
  const phentsize = buf.readUInt16LE(54),
    phnum = buf.readUInt16LE(56);
  const shentsize = buf.readUInt16LE(58),
    shnum = buf.readUInt16LE(60),
    shstrndx = buf.readUInt16LE(62);
  if (shnum === 0 || shstrndx >= 0xff00) throw new Error("extended ELF section numbering is not supported");

  let mappedEnd = phoff + phentsize * phnum;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    mappedEnd = Math.max(mappedEnd, num(p + 8) + num(p + 32));
  }

  const SHF_ALLOC = 0x2,
    SHF_INFO_LINK = 0x40,
    SHT_SYMTAB = 2,
    SHT_RELA = 4,
    SHT_NOBITS = 8,
    SHT_REL = 9,
    SHT_SYMTAB_SHNDX = 18;
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    sections.push({
      header: Buffer.from(buf.subarray(h, h + shentsize)),
      nameOff: buf.readUInt32LE(h),
      type: buf.readUInt32LE(h + 4),
      flags: num(h + 8),
      offset: num(h + 24),
      size: num(h + 32),
      link: buf.readUInt32LE(h + 40),
      info: buf.readUInt32LE(h + 44),
      align: Math.max(1, num(h + 48)),
    });
  }
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
