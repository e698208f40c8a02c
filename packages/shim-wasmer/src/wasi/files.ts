import * as fs from "node:fs";
import { dirname, join } from "node:path";
import {
  ALL_RIGHTS,
  DIR_BASE_RIGHTS,
  DIR_INHERITING_RIGHTS,
  E,
  fail,
  FDFLAGS,
  FILETYPE,
  RIGHTS,
  WHENCE,
} from "./abi.ts";
import type { HostFd } from "./fds.ts";
import type { Resolver } from "./resolve.ts";

// What fd_* calls do to an fd this layer opened. Offsets are ours and every read or write is
// positioned; an fd opened with APPEND is opened O_APPEND, so appends stay atomic on the host.

export interface Filestat {
  dev: bigint;
  ino: bigint;
  filetype: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

export function filestat(st: fs.BigIntStats, filetype: number): Filestat {
  return {
    dev: st.dev,
    ino: st.ino,
    filetype,
    nlink: st.nlink,
    size: st.size,
    atim: st.atimeNs,
    mtim: st.mtimeNs,
    ctim: st.ctimeNs,
  };
}

const isDir = (e: HostFd) => e.type === FILETYPE.DIRECTORY;
const seekable = (e: HostFd) => e.type === FILETYPE.REGULAR_FILE;
const size = (e: HostFd) => fs.fstatSync(e.fd).size;

function notDir(e: HostFd): void {
  if (isDir(e)) fail(E.ISDIR);
}

export function read(e: HostFd, bufs: Uint8Array[], at?: number): number {
  notDir(e);
  if (!e.read) fail(E.BADF);
  if (at !== undefined && !seekable(e)) fail(E.SPIPE);
  const n = fs.readvSync(e.fd, bufs, at ?? (seekable(e) ? e.pos : undefined));
  if (at === undefined && seekable(e)) e.pos += n;
  return n;
}

export function write(e: HostFd, bufs: Uint8Array[], at?: number): number {
  notDir(e);
  if (!e.write) fail(E.BADF);
  if (at !== undefined && !seekable(e)) fail(E.SPIPE);
  const append = e.flags & FDFLAGS.APPEND;
  // With O_APPEND the kernel writes at the end whatever the position says (Linux does so for
  // pwrite too, which POSIX leaves open); our offset then follows the end.
  const n = fs.writevSync(e.fd, bufs, at ?? (seekable(e) && !append ? e.pos : undefined));
  if (at === undefined && seekable(e)) e.pos = append ? size(e) : e.pos + n;
  return n;
}

export function seek(e: HostFd, offset: bigint, whence: number): number {
  notDir(e);
  if (!seekable(e)) fail(E.SPIPE);
  const from =
    whence === WHENCE.SET ? 0 : whence === WHENCE.CUR ? e.pos : whence === WHENCE.END ? size(e) : fail(E.INVAL);
  const to = from + Number(offset);
  if (to < 0 || !Number.isSafeInteger(to)) fail(E.INVAL);
  e.pos = to;
  return to;
}

export function tell(e: HostFd): number {
  notDir(e);
  if (!seekable(e)) fail(E.SPIPE);
  return e.pos;
}

export function fdstat(e: HostFd): { filetype: number; flags: number; base: bigint; inheriting: bigint } {
  if (isDir(e)) return { filetype: e.type, flags: e.flags, base: DIR_BASE_RIGHTS, inheriting: DIR_INHERITING_RIGHTS };
  let base = ALL_RIGHTS;
  if (!e.read) base &= ~(RIGHTS.FD_READ | RIGHTS.FD_READDIR);
  if (!e.write) base &= ~RIGHTS.FD_WRITE;
  return { filetype: e.type, flags: e.flags, base, inheriting: ALL_RIGHTS };
}

/**
 * fd_fdstat_set_flags: APPEND and NONBLOCK can change (Node has no fcntl, so the file is opened
 * again through /proc/self/fd with the new flags, which keeps it the same file); the sync flags
 * only as they were opened.
 */
export function setFlags(e: HostFd, flags: number): void {
  const mutable = FDFLAGS.APPEND | FDFLAGS.NONBLOCK;
  if (flags & ~0x1f) fail(E.INVAL);
  if ((flags & ~mutable) !== (e.flags & ~mutable)) fail(E.NOTSUP);
  if (flags === e.flags) return;
  if (!isDir(e)) {
    const c = fs.constants;
    let mode = e.write ? (e.read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY;
    if (flags & FDFLAGS.APPEND) mode |= c.O_APPEND;
    if (flags & FDFLAGS.NONBLOCK) mode |= c.O_NONBLOCK;
    if (flags & FDFLAGS.DSYNC) mode |= c.O_DSYNC;
    if (flags & (FDFLAGS.SYNC | FDFLAGS.RSYNC)) mode |= c.O_SYNC;
    const fd = fs.openSync(`/proc/self/fd/${e.fd}`, mode);
    fs.closeSync(e.fd);
    e.fd = fd;
  }
  e.flags = flags;
}

export function setSize(e: HostFd, to: bigint): void {
  notDir(e);
  if (!e.write) fail(E.BADF);
  fs.ftruncateSync(e.fd, Number(to));
}

/** posix_fallocate's visible effect: the file is at least offset + len long. */
export function allocate(e: HostFd, offset: bigint, len: bigint): void {
  notDir(e);
  if (!e.write) fail(E.BADF);
  const end = Number(offset + len);
  if (end > size(e)) fs.ftruncateSync(e.fd, end);
}

export function advise(_e: HostFd, advice: number): void {
  if (advice < 0 || advice > 5) fail(E.INVAL);
}

export function sync(e: HostFd, dataOnly: boolean): void {
  (dataOnly ? fs.fdatasyncSync : fs.fsyncSync)(e.fd);
}

const DIRENT = 24;
const encoder = new TextEncoder();

function direntType(d: fs.Dirent): number {
  if (d.isDirectory()) return FILETYPE.DIRECTORY;
  if (d.isFile()) return FILETYPE.REGULAR_FILE;
  if (d.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (d.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (d.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  if (d.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}

/**
 * fd_readdir: `.` and `..` first, then the entries of a snapshot taken at cookie 0; the cookie is
 * the index of the next entry. Returns the bytes to copy out, at most `max`: a last entry that
 * does not fit is cut, which tells the guest to call again with a bigger buffer.
 */
export function readdir(e: HostFd, cookie: bigint, max: number, resolver: Resolver): Uint8Array {
  if (!isDir(e)) fail(E.NOTDIR);
  if (cookie === 0n || !e.listing)
    e.listing = fs.readdirSync(e.path, { withFileTypes: true }).filter((d) => !resolver.isHidden(join(e.path, d.name)));
  const ino = (p: string) => {
    try {
      return fs.lstatSync(p, { bigint: true }).ino;
    } catch {
      return 0n;
    }
  };
  const self = fs.fstatSync(e.fd, { bigint: true }).ino;
  const parent = e.path === resolver.root ? self : ino(dirname(e.path));
  const out = new Uint8Array(max);
  let used = 0;
  const all = e.listing.length + 2;
  for (let i = Number(cookie); i < all && used < max; i++) {
    const d = i >= 2 ? e.listing[i - 2]! : undefined;
    const name = encoder.encode(d ? d.name : i === 0 ? "." : "..");
    const head = new Uint8Array(DIRENT);
    const hv = new DataView(head.buffer);
    hv.setBigUint64(0, BigInt(i + 1), true);
    hv.setBigUint64(8, d ? ino(join(e.path, d.name)) : i === 0 ? self : parent, true);
    hv.setUint32(16, name.length, true);
    hv.setUint8(20, d ? direntType(d) : FILETYPE.DIRECTORY);
    for (const part of [head, name]) {
      const n = Math.min(part.length, max - used);
      out.set(part.subarray(0, n), used);
      used += n;
    }
  }
  return out.subarray(0, used);
}
