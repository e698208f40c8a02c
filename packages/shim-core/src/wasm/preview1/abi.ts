// The parts of the WASI preview1 ABI (witx `wasi_snapshot_preview1`) that the hardening layer reads
// or writes itself: errno values, flags, struct layouts, and access to the guest's memory.

export const Errno = {
  SUCCESS: 0,
  ACCES: 2,
  BADF: 8,
  EXIST: 20,
  FAULT: 21,
  INVAL: 28,
  IO: 29,
  ISDIR: 31,
  LOOP: 32,
  NAMETOOLONG: 37,
  NOBUFS: 42,
  NOENT: 44,
  NOTDIR: 54,
  NOTSOCK: 57,
  NOTSUP: 58,
  PERM: 63,
  NOTCAPABLE: 76,
} as const;

/** Host errno names (Node's error codes) to WASI errno, for what the layer does with Node's fs itself. */
const HOST_ERRNO: Record<string, number> = {
  EACCES: Errno.ACCES,
  EBADF: Errno.BADF,
  EEXIST: Errno.EXIST,
  EINVAL: Errno.INVAL,
  EIO: Errno.IO,
  EISDIR: Errno.ISDIR,
  ELOOP: Errno.LOOP,
  ENAMETOOLONG: Errno.NAMETOOLONG,
  ENOENT: Errno.NOENT,
  ENOTDIR: Errno.NOTDIR,
  EPERM: Errno.PERM,
  EROFS: 69,
};

export function wasiErrno(err: unknown): number {
  return HOST_ERRNO[(err as NodeJS.ErrnoException).code ?? ""] ?? Errno.IO;
}

export const Filetype = {
  UNKNOWN: 0,
  BLOCK_DEVICE: 1,
  CHARACTER_DEVICE: 2,
  DIRECTORY: 3,
  REGULAR_FILE: 4,
  SOCKET_STREAM: 6,
  SYMBOLIC_LINK: 7,
} as const;
export const Fdflags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const Oflags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const Fstflags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

/** `dirent`: d_next u64, d_ino u64, d_namlen u32, d_type u8; 24 bytes, then the name. */
export const DIRENT_SIZE = 24;
/** `fdstat`: fs_filetype u8 @0, fs_flags u16 @2, rights u64 @8 and @16. */
export const FDSTAT_FLAGS_OFFSET = 2;

/** The guest's linear memory, looked up at each call: memory.grow replaces the buffer. */
export class GuestMemory {
  #memory: WebAssembly.Memory | undefined;

  attach(memory: WebAssembly.Memory): void {
    this.#memory = memory;
  }

  get attached(): boolean {
    return this.#memory !== undefined;
  }

  /** `len` bytes at `ptr` (a view, not a copy), or undefined when they are not all inside memory. */
  bytes(ptr: number, len: number): Uint8Array | undefined {
    const buffer = this.#memory?.buffer;
    if (!buffer || ptr < 0 || len < 0 || ptr + len > buffer.byteLength) return undefined;
    return new Uint8Array(buffer, ptr, len);
  }

  view(): DataView {
    if (!this.#memory) throw new Error("preview1: the guest's memory is not attached");
    return new DataView(this.#memory.buffer);
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** A guest path: its bytes, and its text when they are UTF-8 (WASI paths are UTF-8). */
export function guestPath(
  mem: GuestMemory,
  ptr: number,
  len: number,
): { bytes: Uint8Array; text: string | undefined } | undefined {
  const bytes = mem.bytes(ptr, len);
  if (!bytes) return undefined;
  let text: string | undefined;
  try {
    text = decoder.decode(bytes);
  } catch {
    text = undefined;
  }
  return { bytes, text };
}
