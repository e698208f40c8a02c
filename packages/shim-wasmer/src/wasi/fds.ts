import { closeSync, type Dirent, type Stats } from "node:fs";
import { E, fail, FILETYPE } from "./abi.ts";

/** A guest fd the base implementation (the SDK) owns, under its own number there: stdio. */
export interface BaseFd {
  kind: "base";
  fd: number;
}

/** A guest fd backed by a host fd this layer opened. */
export interface HostFd {
  kind: "host";
  /** The host fd. */
  fd: number;
  /** Host path it was opened at; for a directory, what paths relative to it resolve from. */
  path: string;
  type: number;
  read: boolean;
  write: boolean;
  /** fdflags as opened or last set. */
  flags: number;
  /** Our own offset: reads and writes are positioned (Node has no lseek). */
  pos: number;
  /** The name fd_prestat_dir_name reports, for a preopened directory. */
  preopen?: string;
  /** fd_readdir's snapshot, taken at cookie 0. */
  listing?: Dirent[];
}

export type Entry = BaseFd | HostFd;

export function filetype(st: Stats): number {
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  if (st.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}

/** The guest's fd numbers. New fds take the lowest free number, as POSIX has it. */
export class FdTable {
  readonly #fds = new Map<number, Entry>();

  constructor(base: readonly number[]) {
    for (const fd of base) this.#fds.set(fd, { kind: "base", fd });
  }

  find(fd: number): Entry | undefined {
    return this.#fds.get(fd);
  }

  get(fd: number): Entry {
    return this.#fds.get(fd) ?? fail(E.BADF);
  }

  host(fd: number): HostFd {
    const e = this.get(fd);
    return e.kind === "host" ? e : fail(E.BADF);
  }

  /** A directory fd paths can be relative to. */
  dir(fd: number): HostFd {
    const e = this.get(fd);
    return e.kind === "host" && e.type === FILETYPE.DIRECTORY ? e : fail(E.NOTDIR);
  }

  add(entry: Entry): number {
    let n = 0;
    while (this.#fds.has(n)) n++;
    this.#fds.set(n, entry);
    return n;
  }

  /**
   * Removes `fd` from the table. A host fd is closed; a base fd is handed back for its owner to
   * close, unless another guest fd still names it (a guest may open /dev/stdout as a second fd).
   */
  close(fd: number): BaseFd | undefined {
    const e = this.get(fd);
    this.#fds.delete(fd);
    if (e.kind === "host") {
      closeSync(e.fd);
      return undefined;
    }
    for (const other of this.#fds.values()) if (other.kind === "base" && other.fd === e.fd) return undefined;
    return e;
  }

  /** fd_renumber: `from` takes `to`'s number, closing what `to` was. Both must be open. */
  renumber(from: number, to: number): BaseFd | undefined {
    const e = this.get(from);
    this.get(to);
    if (from === to) return undefined;
    const closed = this.close(to);
    this.#fds.delete(from);
    this.#fds.set(to, e);
    return closed;
  }

  /** Closes every host fd (the guest is done); returns nothing of the base's. */
  closeAll(): void {
    for (const [n, e] of this.#fds) {
      if (e.kind !== "host") continue;
      this.#fds.delete(n);
      try {
        closeSync(e.fd);
      } catch {}
    }
  }
}
