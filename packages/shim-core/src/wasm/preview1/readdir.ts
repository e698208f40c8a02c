import { lstatSync, readdirSync, type BigIntStats } from "node:fs";
import { DIRENT_SIZE, Errno, Filetype, wasiErrno, type GuestMemory } from "./abi.ts";
import type { FdEntry } from "./fd-table.ts";

const DOT = Buffer.from(".");
const DOTDOT = Buffer.from("..");

function filetype(st: BigIntStats): number {
  if (st.isDirectory()) return Filetype.DIRECTORY;
  if (st.isFile()) return Filetype.REGULAR_FILE;
  if (st.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (st.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN; // a FIFO: preview1 has no type for it
}

/** `.`, `..`, then the directory's entries in byte order; names as bytes (they need not be UTF-8). */
function list(dir: string): Buffer[] {
  const names = readdirSync(dir, { encoding: "buffer" });
  names.sort(Buffer.compare);
  return [DOT, DOTDOT, ...names];
}

/** The entry's lstat; undefined when it is gone, null when it cannot be read (then: inode 0, type unknown). */
function entryStat(entry: FdEntry, dir: string, name: Buffer): BigIntStats | undefined | null {
  try {
    return lstatEntry(entry, dir, name);
  } catch {
    return null;
  }
}

function lstatEntry(entry: FdEntry, dir: string, name: Buffer): BigIntStats | undefined {
  const opts = { bigint: true, throwIfNoEntry: false } as const;
  // The `..` of a preopen's root is outside what the guest may see: it is shown as the root itself.
  if (name === DOT || (name === DOTDOT && dir === entry.root)) return lstatSync(dir, opts);
  if (name === DOTDOT) return lstatSync(`${dir}/..`, opts);
  return lstatSync(Buffer.concat([Buffer.from(dir.endsWith("/") ? dir : `${dir}/`), name]), opts);
}

/**
 * fd_readdir with `.` and `..` (uvwasi leaves them out) and real inode numbers (uvwasi gives 0).
 * The listing is taken when the guest starts at cookie 0 and later cookies index into it, so
 * removing entries while reading the directory (what rm -r does) skips nothing; a cookie with no
 * listing taken lists afresh. As with readdir(3), entries added after the start may not appear.
 * Entries are written whole until the buffer is full; a last partial entry tells the guest there
 * is more (bufused == buf_len), as the spec says.
 */
export function readdir(
  mem: GuestMemory,
  entry: FdEntry,
  dir: string,
  buf: number,
  bufLen: number,
  cookie: bigint,
  bufusedPtr: number,
): number {
  let names = cookie === 0n ? undefined : entry.listing;
  try {
    names ??= entry.listing = list(dir);
  } catch (err) {
    return wasiErrno(err);
  }
  const out = mem.bytes(buf, bufLen);
  if (!out || !mem.bytes(bufusedPtr, 4)) return Errno.FAULT;
  let used = 0;
  for (let i = Number(cookie); i < names.length && used < bufLen; i++) {
    const name = names[i]!;
    const st = entryStat(entry, dir, name);
    if (st === undefined) continue; // removed since the listing was taken
    const record = Buffer.alloc(DIRENT_SIZE + name.length);
    record.writeBigUInt64LE(BigInt(i + 1), 0);
    record.writeBigUInt64LE(st?.ino ?? 0n, 8);
    record.writeUInt32LE(name.length, 16);
    record.writeUInt8(name === DOT || name === DOTDOT ? Filetype.DIRECTORY : st ? filetype(st) : Filetype.UNKNOWN, 20);
    name.copy(record, DIRENT_SIZE);
    const n = Math.min(record.length, bufLen - used);
    out.set(record.subarray(0, n), used);
    used += n;
  }
  mem.view().setUint32(bufusedPtr, used, true);
  return Errno.SUCCESS;
}
