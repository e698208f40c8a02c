// WASI preview1 numbers (wasi_snapshot_preview1 witx): errnos, rights, flags and file types.

export const E = {
  SUCCESS: 0,
  ACCES: 2,
  AGAIN: 6,
  BADF: 8,
  BUSY: 10,
  EXIST: 20,
  FAULT: 21,
  FBIG: 22,
  ILSEQ: 25,
  INTR: 27,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  MFILE: 33,
  MLINK: 34,
  NAMETOOLONG: 37,
  NFILE: 41,
  NOBUFS: 42,
  NODEV: 43,
  NOENT: 44,
  NOMEM: 48,
  NOSPC: 51,
  NOSYS: 52,
  NOTDIR: 54,
  NOTEMPTY: 55,
  NOTSOCK: 57,
  NOTSUP: 58,
  NOTTY: 59,
  NXIO: 60,
  OVERFLOW: 61,
  PERM: 63,
  PIPE: 64,
  RANGE: 68,
  ROFS: 69,
  SPIPE: 70,
  TIMEDOUT: 73,
  TXTBSY: 74,
  XDEV: 75,
  NOTCAPABLE: 76,
} as const;

/** Node's error codes that differ from "E" + the WASI name. */
const NODE_CODES: Record<string, number> = {
  EOPNOTSUPP: E.NOTSUP,
  ENOTSUP: E.NOTSUP,
  EWOULDBLOCK: E.AGAIN,
  EDQUOT: E.NOSPC,
};

/** A WASI errno to return to the guest. */
export class WasiError extends Error {
  readonly errno: number;
  constructor(errno: number) {
    super(`wasi errno ${errno}`);
    this.errno = errno;
  }
}

export const fail = (errno: number): never => {
  throw new WasiError(errno);
};

/** The errno for anything a host call threw: Node's fs errors by code, bad guest pointers as FAULT. */
export function errnoOf(err: unknown): number {
  if (err instanceof WasiError) return err.errno;
  if (err instanceof RangeError) return E.FAULT;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string") {
    if (code in NODE_CODES) return NODE_CODES[code]!;
    const name = code.slice(1) as keyof typeof E;
    if (code.startsWith("E") && name in E) return E[name];
  }
  return E.IO;
}

/** Runs an import's work: its errno, SUCCESS if it returned none, or the errno of what it threw. */
export function guard(fn: () => unknown): number {
  try {
    const r = fn();
    return typeof r === "number" ? r : E.SUCCESS;
  } catch (err) {
    return errnoOf(err);
  }
}

/** poll_oneoff's `event`: userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16; and its types. */
export const EVENT_SIZE = 32;
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;

export const FILETYPE = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;

export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;

const bit = (n: number) => 1n << BigInt(n);
export const RIGHTS = {
  FD_DATASYNC: bit(0),
  FD_READ: bit(1),
  FD_SEEK: bit(2),
  FD_FDSTAT_SET_FLAGS: bit(3),
  FD_SYNC: bit(4),
  FD_TELL: bit(5),
  FD_WRITE: bit(6),
  FD_ADVISE: bit(7),
  FD_ALLOCATE: bit(8),
  PATH_CREATE_DIRECTORY: bit(9),
  PATH_CREATE_FILE: bit(10),
  PATH_LINK_SOURCE: bit(11),
  PATH_LINK_TARGET: bit(12),
  PATH_OPEN: bit(13),
  FD_READDIR: bit(14),
  PATH_READLINK: bit(15),
  PATH_RENAME_SOURCE: bit(16),
  PATH_RENAME_TARGET: bit(17),
  PATH_FILESTAT_GET: bit(18),
  PATH_FILESTAT_SET_SIZE: bit(19),
  PATH_FILESTAT_SET_TIMES: bit(20),
  FD_FILESTAT_GET: bit(21),
  FD_FILESTAT_SET_SIZE: bit(22),
  FD_FILESTAT_SET_TIMES: bit(23),
  PATH_SYMLINK: bit(24),
  PATH_REMOVE_DIRECTORY: bit(25),
  PATH_UNLINK_FILE: bit(26),
  POLL_FD_READWRITE: bit(27),
  SOCK_SHUTDOWN: bit(28),
  SOCK_ACCEPT: bit(29),
} as const;
export const ALL_RIGHTS = bit(30) - 1n;

const r = RIGHTS;
// What a directory can do, and what files opened under it may get: the sets wasmtime reports, so a
// guest that checks them (wasi-libc does before each call) sees the same answer on every engine.
// Rights are reported, not enforced, as in wasmtime: fd_fdstat_set_rights says NOTSUP.
export const DIR_BASE_RIGHTS =
  r.PATH_CREATE_DIRECTORY |
  r.PATH_CREATE_FILE |
  r.PATH_LINK_SOURCE |
  r.PATH_LINK_TARGET |
  r.PATH_OPEN |
  r.FD_READDIR |
  r.PATH_READLINK |
  r.PATH_RENAME_SOURCE |
  r.PATH_RENAME_TARGET |
  r.PATH_SYMLINK |
  r.PATH_REMOVE_DIRECTORY |
  r.PATH_UNLINK_FILE |
  r.PATH_FILESTAT_GET |
  r.PATH_FILESTAT_SET_TIMES |
  r.FD_FILESTAT_GET |
  r.FD_FILESTAT_SET_TIMES;
export const DIR_INHERITING_RIGHTS =
  DIR_BASE_RIGHTS |
  r.FD_DATASYNC |
  r.FD_READ |
  r.FD_SEEK |
  r.FD_FDSTAT_SET_FLAGS |
  r.FD_SYNC |
  r.FD_TELL |
  r.FD_WRITE |
  r.FD_ADVISE |
  r.FD_ALLOCATE |
  r.FD_FILESTAT_GET |
  r.FD_FILESTAT_SET_SIZE |
  r.FD_FILESTAT_SET_TIMES |
  r.POLL_FD_READWRITE;
