import { closeSync, openSync, readSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import { execFileSync } from "node:child_process";

/** What a container needs to run this very binary with the host's dynamic loader. */
export interface HostRuntime {
  /** The executable itself (a single-file Node application). */
  binary: string;
  /** The loader (PT_INTERP), resolved to a real file. */
  loader: string;
  /** Directories holding the loader (always the first) and every library the binary needs, resolved to real paths. */
  libDirs: string[];
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  return buf;
}

/** Reads PT_INTERP from an ELF64 little-endian executable without loading the whole file. */
export function elfInterpreter(file: string): string | undefined {
  const fd = openSync(file, "r");
  try {
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== 3) continue;
      const interp = readAt(fd, Number(ph.readBigUInt64LE(at + 8)), Number(ph.readBigUInt64LE(at + 32)));
      return interp.toString("latin1").replace(/\0.*$/s, "");
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let cached: HostRuntime | undefined;

/**
 * Discovers the loader and library directories of `binary` by asking the loader itself
 * (`ld.so --list`), so the result is right on any glibc distribution and architecture.
 */
export function hostRuntime(binary = process.execPath): HostRuntime {
  if (cached?.binary === binary) return cached;
  const interp = elfInterpreter(binary);
  if (!interp) throw new Error(`${binary} is not a dynamically linked ELF64 executable`);
  const loader = realpathSync(interp);
  const listing = execFileSync(loader, ["--list", binary], { encoding: "utf8" });
  const dirs = new Set<string>([dirname(loader)]);
  for (const match of listing.matchAll(/=> (\/\S+)/g)) dirs.add(dirname(realpathSync(match[1]!)));
  cached = { binary, loader, libDirs: [...dirs] };
  return cached;
}
