import { statSync } from "node:fs";
import { posix } from "node:path";

/** What the layer knows of one guest fd (uvwasi keeps its own table, which it does not show). */
export interface FdEntry {
  /** The host fd behind a stdio fd (the layer knows no other). */
  hostFd?: number;
  /** The host path it was opened by (stdio has none); a rename later is not followed (see dev/ino). */
  host?: string;
  /** The host directory of the preopen it descends from: nothing outside it is touched. */
  root?: string;
  /** The fdflags it was opened with, or last set (SYNC/RSYNC cannot be read back from the host). */
  fdflags: number;
  /** The file's identity when it was opened, so a path that now names another file is not acted on. */
  dev?: bigint;
  ino?: bigint;
  /** A directory listing taken by fd_readdir at cookie 0, read on by later cookies. */
  listing?: Buffer[];
}

/**
 * The guest's fds as the layer has seen them come and go: stdio, the preopens (numbered from 3 in
 * order, as node:wasi does), and every path_open, fd_close and fd_renumber that succeeded.
 */
export class FdTable {
  readonly #fds = new Map<number, FdEntry>();

  constructor(preopens: Record<string, string>, stdio: readonly [number, number, number] = [0, 1, 2]) {
    stdio.forEach((hostFd, fd) => this.#fds.set(fd, { hostFd, fdflags: 0 }));
    let fd = 3;
    for (const host of Object.values(preopens)) {
      const root = posix.resolve(host);
      this.#fds.set(fd++, { host: root, root, fdflags: 0, ...identity(root) });
    }
  }

  has(fd: number): boolean {
    return this.#fds.has(fd);
  }

  get(fd: number): FdEntry | undefined {
    return this.#fds.get(fd);
  }

  /**
   * The host path of `path` relative to directory `dirfd`, normalized as uvwasi does (`.` and `..`
   * by name), or undefined when it leaves the preopen (absolute, or more `..` than it has below
   * the root) or the fd is no directory the layer knows. A trailing slash is kept: it makes the
   * kernel follow a final symlink.
   */
  resolve(dirfd: number, path: string): string | undefined {
    const dir = this.#fds.get(dirfd);
    if (!dir?.host || !dir.root || path.startsWith("/")) return undefined;
    const parts = dir.host === dir.root ? [] : posix.relative(dir.root, dir.host).split("/");
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part !== "..") parts.push(part);
      else if (parts.pop() === undefined) return undefined;
    }
    const joined = posix.join(dir.root, ...parts);
    return path.endsWith("/") && !joined.endsWith("/") ? `${joined}/` : joined;
  }

  /** A path_open that succeeded; `path` is undefined when it is not UTF-8 (the fd is then known, its path not). */
  opened(fd: number, dirfd: number, path: string | undefined, fdflags: number): void {
    const root = this.#fds.get(dirfd)?.root;
    const host = path === undefined ? undefined : this.resolve(dirfd, path);
    const entry: FdEntry = { fdflags };
    if (host !== undefined && root !== undefined) {
      entry.host = host.length > 1 ? host.replace(/\/+$/, "") : host;
      entry.root = root;
      Object.assign(entry, identity(entry.host));
    }
    this.#fds.set(fd, entry);
  }

  closed(fd: number): void {
    this.#fds.delete(fd);
  }

  renumbered(from: number, to: number): void {
    const entry = this.#fds.get(from);
    if (!entry) return;
    this.#fds.set(to, entry);
    this.#fds.delete(from);
  }

  /** True when `entry`'s path still names the file it was opened as. */
  static same(entry: FdEntry, host: string): boolean {
    if (entry.ino === undefined) return false;
    const now = identity(host);
    return now.dev === entry.dev && now.ino === entry.ino;
  }
}

function identity(path: string): { dev?: bigint; ino?: bigint } {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st ? { dev: st.dev, ino: st.ino } : {};
}
