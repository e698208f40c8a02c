import { constants, lstatSync, readlinkSync } from "node:fs";
import {
  Errno,
  FDSTAT_FLAGS_OFFSET,
  Fdflags,
  GuestMemory,
  guestPath,
  LOOKUP_SYMLINK_FOLLOW,
  Oflags,
  wasiErrno,
} from "./abi.ts";
import { FdTable } from "./fd-table.ts";
import { pollOneoff } from "./poll.ts";
import { readdir } from "./readdir.ts";
import { pollWaits, SUBSCRIPTION_SIZE } from "./wait.ts";
import { invalidFstflags, setTimesExactly, timesBefore } from "./times.ts";

// Wasm passes i32 as number and i64 as bigint; every preview1 function returns an errno.
export type Preview1Function = (...args: any[]) => number;
export type Preview1Imports = Record<string, Preview1Function>;

export interface Hardened {
  /** node:wasi's functions with the fixes applied: pass as the `wasi_snapshot_preview1` import. */
  imports: Preview1Imports;
  /** Gives the layer the instance's memory; call before wasi.start(instance). */
  attach(instance: WebAssembly.Instance): void;
}

/** The (pointer, length) argument pairs of each function that takes paths. */
const PATH_ARGS: Record<string, [number, number][]> = {
  path_create_directory: [[1, 2]],
  path_filestat_get: [[2, 3]],
  path_filestat_set_times: [[2, 3]],
  path_link: [
    [2, 3],
    [5, 6],
  ],
  path_open: [[2, 3]],
  path_readlink: [[1, 2]],
  path_remove_directory: [[1, 2]],
  path_rename: [
    [1, 2],
    [4, 5],
  ],
  path_symlink: [
    [0, 1],
    [3, 4],
  ],
  path_unlink_file: [[1, 2]],
};

/**
 * The host's F_GETFL bits as WASI fdflags. uvwasi stores F_GETFL into the 16-bit fs_flags as it
 * is, so the access mode reads as APPEND/DSYNC and O_LARGEFILE as garbage; O_SYNC's own bit does
 * not fit in 16 bits, so SYNC and RSYNC come from what the fd was opened or last set with.
 */
export function wasiFdflags(host: number, opened: number): number {
  let flags = 0;
  if (host & constants.O_APPEND) flags |= Fdflags.APPEND;
  if (host & constants.O_NONBLOCK) flags |= Fdflags.NONBLOCK;
  if (host & constants.O_DSYNC) flags |= opened & (Fdflags.DSYNC | Fdflags.RSYNC | Fdflags.SYNC) || Fdflags.DSYNC;
  return flags;
}

function isSymlink(host: string): boolean {
  try {
    return lstatSync(host).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A path whose last component the kernel follows whatever the flags say ("dir/", "x/.", ".."). */
function followsAnyway(path: string): boolean {
  const last = path.slice(path.lastIndexOf("/") + 1);
  return last === "" || last === "." || last === "..";
}

/**
 * Wraps node:wasi's preview1 functions (uvwasi) where uvwasi departs from the spec and from what
 * wasmtime does; everything else is node:wasi's own function, untouched. The fixes:
 *   - a path holding a NUL byte is INVAL (uvwasi would open the path before the NUL);
 *   - path_open without SYMLINK_FOLLOW on a symlink is LOOP (uvwasi follows it);
 *   - fd_readdir lists `.` and `..` and real inode numbers;
 *   - fd_fdstat_get reports fdflags, not the host's raw F_GETFL bits;
 *   - fd_filestat_set_times / path_filestat_set_times keep nanoseconds (uvwasi keeps seconds),
 *     and bad fstflags are INVAL without deadlocking (see times.ts);
 *   - path_readlink into a short buffer truncates (uvwasi: NOBUFS);
 *   - fd_prestat_dir_name into a short buffer is NAMETOOLONG (uvwasi: NOBUFS);
 *   - sock_shutdown is BADF on a closed fd and NOTSOCK on any other (node:wasi has no sockets);
 *   - poll_oneoff on a regular file or /dev/null is ready at once (uvwasi: PERM; see poll.ts).
 * uvwasi still does every check of rights, flags and paths first: the layer acts after it agreed.
 */
export function hardenPreview1(
  base: Preview1Imports,
  preopens: Record<string, string>,
  stdio?: readonly [number, number, number],
  onWait?: () => void,
): Hardened {
  const mem = new GuestMemory();
  const fds = new FdTable(preopens, stdio);
  const imports: Preview1Imports = { ...base };
  const orig = (name: string): Preview1Function => {
    const fn = imports[name];
    if (!fn) throw new Error(`preview1: node:wasi has no ${name}`);
    return fn;
  };
  const u32 = (ptr: number) => mem.view().getUint32(ptr, true);

  for (const [name, pairs] of Object.entries(PATH_ARGS)) {
    const fn = orig(name);
    imports[name] = (...args) => {
      for (const [p, l] of pairs) if (mem.bytes(args[p], args[l])?.includes(0)) return Errno.INVAL;
      return fn(...args);
    };
  }

  const pathOpen = orig("path_open");
  imports.path_open = (
    dirfd: number,
    dirflags: number,
    pathPtr: number,
    pathLen: number,
    oflags: number,
    base: bigint,
    inheriting: bigint,
    fdflags: number,
    fdPtr: number,
  ) => {
    const path = guestPath(mem, pathPtr, pathLen)?.text;
    const exclusive = (oflags & Oflags.CREAT) !== 0 && (oflags & Oflags.EXCL) !== 0;
    if (path !== undefined && !(dirflags & LOOKUP_SYMLINK_FOLLOW) && !exclusive && !followsAnyway(path)) {
      const host = fds.resolve(dirfd, path);
      if (host !== undefined && isSymlink(host)) return Errno.LOOP;
    }
    const rc = pathOpen(dirfd, dirflags, pathPtr, pathLen, oflags, base, inheriting, fdflags, fdPtr);
    if (rc === Errno.SUCCESS) fds.opened(u32(fdPtr), dirfd, path, fdflags);
    return rc;
  };

  const fdClose = orig("fd_close");
  imports.fd_close = (fd: number) => {
    const rc = fdClose(fd);
    if (rc === Errno.SUCCESS) fds.closed(fd);
    return rc;
  };

  const fdRenumber = orig("fd_renumber");
  imports.fd_renumber = (from: number, to: number) => {
    const rc = fdRenumber(from, to);
    if (rc === Errno.SUCCESS) fds.renumbered(from, to);
    return rc;
  };

  const fdstatGet = orig("fd_fdstat_get");
  imports.fd_fdstat_get = (fd: number, ptr: number) => {
    const rc = fdstatGet(fd, ptr);
    if (rc === Errno.SUCCESS) {
      const view = mem.view();
      view.setUint16(
        ptr + FDSTAT_FLAGS_OFFSET,
        wasiFdflags(view.getUint16(ptr + FDSTAT_FLAGS_OFFSET, true), fds.get(fd)?.fdflags ?? 0),
        true,
      );
    }
    return rc;
  };

  const fdstatSetFlags = orig("fd_fdstat_set_flags");
  imports.fd_fdstat_set_flags = (fd: number, flags: number) => {
    const rc = fdstatSetFlags(fd, flags);
    const entry = fds.get(fd);
    if (rc === Errno.SUCCESS && entry) entry.fdflags = flags;
    return rc;
  };

  const fdReaddir = orig("fd_readdir");
  imports.fd_readdir = (fd: number, buf: number, bufLen: number, cookie: bigint, bufusedPtr: number) => {
    const entry = fds.get(fd);
    if (!entry?.host || !FdTable.same(entry, entry.host)) return fdReaddir(fd, buf, bufLen, cookie, bufusedPtr);
    // uvwasi checks the fd, its rights and that it is a directory, and writes nothing into a 0-byte buffer.
    const rc = fdReaddir(fd, buf, 0, 0n, bufusedPtr);
    return rc === Errno.SUCCESS ? readdir(mem, entry, entry.host, buf, bufLen, cookie, bufusedPtr) : rc;
  };

  const fdSetTimes = orig("fd_filestat_set_times");
  imports.fd_filestat_set_times = (fd: number, atim: bigint, mtim: bigint, fst: number) => {
    const entry = fds.get(fd);
    const host =
      entry?.host !== undefined && !invalidFstflags(fst) && FdTable.same(entry, entry.host) ? entry.host : undefined;
    const before = host === undefined ? undefined : timesBefore(host, false);
    const rc = fdSetTimes(fd, atim, mtim, fst);
    if (rc !== Errno.SUCCESS || host === undefined || !before) return rc;
    return setTimesExactly(host, before, atim, mtim, fst, false);
  };

  const pathSetTimes = orig("path_filestat_set_times");
  imports.path_filestat_set_times = (
    dirfd: number,
    lookup: number,
    pathPtr: number,
    pathLen: number,
    atim: bigint,
    mtim: bigint,
    fst: number,
  ) => {
    if (invalidFstflags(fst)) return Errno.INVAL;
    const nofollow = !(lookup & LOOKUP_SYMLINK_FOLLOW);
    const path = guestPath(mem, pathPtr, pathLen)?.text;
    const host = path === undefined ? undefined : fds.resolve(dirfd, path);
    const before = host === undefined ? undefined : timesBefore(host, nofollow);
    const rc = pathSetTimes(dirfd, lookup, pathPtr, pathLen, atim, mtim, fst);
    if (rc !== Errno.SUCCESS || host === undefined || !before) return rc;
    return setTimesExactly(host, before, atim, mtim, fst, nofollow);
  };

  const readlink = orig("path_readlink");
  imports.path_readlink = (
    dirfd: number,
    pathPtr: number,
    pathLen: number,
    buf: number,
    bufLen: number,
    bufusedPtr: number,
  ) => {
    const rc = readlink(dirfd, pathPtr, pathLen, buf, bufLen, bufusedPtr);
    const path = guestPath(mem, pathPtr, pathLen)?.text;
    const host = path === undefined ? undefined : fds.resolve(dirfd, path);
    const out = mem.bytes(buf, bufLen);
    if (rc !== Errno.NOBUFS || host === undefined || !out || !mem.bytes(bufusedPtr, 4)) return rc;
    let target: Buffer;
    try {
      target = readlinkSync(host, { encoding: "buffer" });
    } catch (err) {
      return wasiErrno(err);
    }
    const n = Math.min(target.length, bufLen);
    out.set(target.subarray(0, n));
    mem.view().setUint32(bufusedPtr, n, true);
    return Errno.SUCCESS;
  };

  const prestatDirName = orig("fd_prestat_dir_name");
  imports.fd_prestat_dir_name = (fd: number, ptr: number, len: number) => {
    const rc = prestatDirName(fd, ptr, len);
    return rc === Errno.NOBUFS ? Errno.NAMETOOLONG : rc;
  };

  const poll = orig("poll_oneoff");
  let waited = onWait;
  imports.poll_oneoff = (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) => {
    if (waited && pollWaits(mem.bytes(inPtr, nsubs * SUBSCRIPTION_SIZE))) {
      waited();
      waited = undefined;
    }
    return pollOneoff(mem, fds, poll, inPtr, outPtr, nsubs, neventsPtr);
  };

  imports.sock_shutdown = (fd: number) => (fds.has(fd) ? Errno.NOTSOCK : Errno.BADF);

  return {
    imports,
    attach(instance) {
      const memory = instance.exports.memory;
      if (memory instanceof WebAssembly.Memory) mem.attach(memory);
    },
  };
}
