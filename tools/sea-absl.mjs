// Used by tools/sea-node-base.mjs on the Node binary a shim executable is made from.

import { readElf, SHT_SYMTAB } from "./sea-elf.mjs";

// Node 24's abseil is built with its debug checks on: the first lock of any absl::Mutex (V8 seeding
// its random numbers, at start-up) makes it build a deadlock graph, 1 MB that every process keeps
// dirty to its end (each daemon, runner and spare). abseil's release builds leave that detection
// off; this sets its mode (`absl::SetMutexDeadlockDetectionMode`) to off in the binary's data,
// before any process starts.

const SYMBOL = "_ZN4absl12_GLOBAL__N_124synch_deadlock_detectionE"; // absl::(anon)::synch_deadlock_detection
const MODES = { ignore: 0, report: 1, abort: 2 }; // absl::OnDeadlockCycle
const STT_OBJECT = 1;

/** A data object of `size` bytes named `symbol` in the ELF `buf`: its address, and its offset in `buf`. */
export function objectSymbol(buf, symbol, size) {
  const num = (off) => Number(buf.readBigUInt64LE(off));
  const { sections } = readElf(buf);
  const name = Buffer.from(`${symbol}\0`, "latin1");
  for (const symtab of sections) {
    if (symtab.type !== SHT_SYMTAB) continue;
    const strtab = sections[symtab.link];
    for (let s = symtab.offset; s < symtab.offset + symtab.size; s += 24) {
      if ((buf[s + 4] & 0xf) !== STT_OBJECT || num(s + 16) !== size) continue;
      const at = strtab.offset + buf.readUInt32LE(s);
      if (buf.compare(name, 0, name.length, at, at + name.length) !== 0) continue;
      const home = sections[buf.readUInt16LE(s + 6)];
      const address = num(s + 8);
      return { address, offset: home.offset + address - home.addr };
    }
  }
  return undefined;
}

/** Where the mode lives; undefined when the binary has no such symbol. */
export const deadlockDetection = (buf) => objectSymbol(buf, SYMBOL, 4);

/** `buf` with abseil's deadlock detection off; what it found, for the build's log. */
export function releaseAbseil(buf) {
  const at = deadlockDetection(buf);
  if (!at) return "no abseil deadlock detection symbol: left as it is";
  const mode = buf.readUInt32LE(at.offset);
  if (!Object.values(MODES).includes(mode))
    throw new Error(`abseil's deadlock detection mode reads ${mode}, not a mode`);
  buf.writeUInt32LE(MODES.ignore, at.offset);
  return `abseil deadlock detection at 0x${at.address.toString(16)}: ${mode} -> ${MODES.ignore}`;
}
