// The one reader of ELF headers for the build's edits of the Node binary (tools/sea-absl.mjs,
// tools/sea-strip-elf.mjs, tools/sea-entry-stub.mjs): each edit trusts these offsets, so they are
// read, and the file checked, in one place.

const MACHINES = { x64: 62, arm64: 183 };
export const SHT_SYMTAB = 2;
export const SHT_NOBITS = 8;

// Where each field lies in a program header (segment) and a section header: [offset, bytes].
const SEGMENT = { type: [0, 4], flags: [4, 4], offset: [8, 8], vaddr: [16, 8], filesz: [32, 8], memsz: [40, 8] };
const SECTION = {
  nameOff: [0, 4],
  type: [4, 4],
  flags: [8, 8],
  addr: [16, 8],
  offset: [24, 8],
  size: [32, 8],
  link: [40, 4],
  info: [44, 4],
  align: [48, 8],
};

/** `count` entries of `size` bytes from `offset`, each with its fields and its own offset (`at`). */
function table(buf, offset, size, count, fields) {
  const rows = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * size;
    const row = { at };
    for (const [name, [off, bytes]] of Object.entries(fields))
      row[name] = bytes === 4 ? buf.readUInt32LE(at + off) : Number(buf.readBigUInt64LE(at + off));
    rows.push(row);
  }
  return rows;
}

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
  const segments = table(buf, elf.phoff, elf.phentsize, elf.phnum, SEGMENT);
  const sections = table(buf, elf.shoff, elf.shentsize, elf.shnum, SECTION).map((s) => ({
    ...s,
    align: Math.max(1, s.align),
  }));
  return { ...elf, segments, sections };
}
