// The one reader of ELF headers for the build's edits of the Node binary (tools/sea-absl.mjs,
// tools/sea-strip-elf.mjs, tools/sea-entry-stub.mjs): each edit trusts these offsets, so they are
// read, and the file checked, in one place.

const MACHINES = { x64: 62, arm64: 183 };
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;

/**
 * The ELF header of `buf`, with its program headers (`segments`) and section headers (`sections`,
 * each with its own header's bytes at `at`). Throws unless `buf` is a 64-bit little-endian ELF for
 * `arch` (any machine when `arch` is not given).
 */
export function readElf(buf, arch) {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new Error("not a 64-bit little-endian ELF");
  const machine = buf.readUInt16LE(18);
  if (arch !== undefined && machine !== MACHINES[arch]) throw new Error(`ELF machine ${machine} is not ${arch}`);
  const num = (off) => Number(buf.readBigUInt64LE(off));
  const elf = {
    entry: num(24),
    phoff: num(32),
    shoff: num(40),
    phentsize: buf.readUInt16LE(54),
    phnum: buf.readUInt16LE(56),
    shentsize: buf.readUInt16LE(58),
    shnum: buf.readUInt16LE(60),
    shstrndx: buf.readUInt16LE(62),
  };
  if (elf.phoff + elf.phentsize * elf.phnum > buf.length || elf.shoff + elf.shentsize * elf.shnum > buf.length)
    throw new Error("the ELF header's tables lie outside the file");
  const segments = [];
  for (let i = 0; i < elf.phnum; i++) {
    const at = elf.phoff + i * elf.phentsize;
    segments.push({
      at,
      type: buf.readUInt32LE(at),
      flags: buf.readUInt32LE(at + 4),
      offset: num(at + 8),
      vaddr: num(at + 16),
      filesz: num(at + 32),
      memsz: num(at + 40),
    });
  }
  const sections = [];
  for (let i = 0; i < elf.shnum; i++) {
    const at = elf.shoff + i * elf.shentsize;
    sections.push({
      at,
      nameOff: buf.readUInt32LE(at),
      type: buf.readUInt32LE(at + 4),
      flags: num(at + 8),
      addr: num(at + 16),
      offset: num(at + 24),
      size: num(at + 32),
      link: buf.readUInt32LE(at + 40),
      info: buf.readUInt32LE(at + 44),
      align: Math.max(1, num(at + 48)),
    });
  }
  return { ...elf, segments, sections };
}
