import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { E, fail } from "./abi.ts";

/** Past this many symlinks in one lookup, LOOP (Linux's limit). */
const MAX_HOPS = 40;

export interface Resolved {
  /** Host path of the directory that holds the last component, free of symlinks. */
  dir: string;
  /** The last component, or "" when the path names `dir` itself (".", "a/." or "a/.."). */
  name: string;
  /** The guest's path ended in "/": the last component must be a directory. */
  slash: boolean;
  /** What to hand the host call: dir/name, with the trailing slash kept so the kernel checks it. */
  host: string;
}

const parts = (p: string) => p.split("/").filter((c) => c !== "" && c !== ".");
const join = (cs: readonly string[]) => `/${cs.join("/")}`;

/**
 * Resolves guest paths to host paths inside the container's root, the way a kernel does inside a
 * chroot, with the rules of WASI's capability model for what the guest itself writes:
 * - a path is relative to a directory fd; an absolute path, or `..` above that directory, is
 *   NOTCAPABLE (as in wasmtime), except that `..` at the container's root is the root (as in
 *   Linux and node:wasi: `/..` is `/`, and nothing is above the guest's `/` to escape to);
 * - symlinks found on the way are the image's: they resolve like the kernel's, an absolute target
 *   from the container's root and `..` up to that root, never above it;
 * - `hidden` paths (the host's /proc, /sys, the runner's own files) do not exist for the guest.
 * Every component but the last is walked here, so the host call never follows a link the guest
 * could use to leave the root.
 */
export class Resolver {
  readonly root: string;
  readonly #rootParts: string[];
  readonly #hidden: string[];

  /** `root` is the host path of the guest's `/`; `hidden` are guest paths. */
  constructor(root: string, hidden: readonly string[] = []) {
    this.#rootParts = parts(root);
    this.root = join(this.#rootParts);
    this.#hidden = hidden.map((h) => join([...this.#rootParts, ...parts(h)]));
  }

  /** The host path of a guest path given from the root. */
  host(guestPath: string): string {
    return join([...this.#rootParts, ...parts(guestPath)]);
  }

  isHidden(host: string): boolean {
    return this.#hidden.some((h) => host === h || host.startsWith(`${h}/`));
  }

  lstat(host: string): Stats {
    if (this.isHidden(host)) fail(E.NOENT);
    return lstatSync(host);
  }

  /**
   * `base` is the host path of the directory the guest's path is relative to. `follow`: a symlink
   * in the last component is followed too (it always is when the path ends in "/").
   */
  resolve(base: string, path: string, follow: boolean): Resolved {
    if (path === "") fail(E.NOENT);
    if (path.startsWith("/")) fail(E.NOTCAPABLE);
    const slash = path.endsWith("/");
    // "a/." names a itself, which must be a directory: every component is walked as one.
    const self = path === "." || path.endsWith("/.");
    const cur = parts(base);
    let floor = cur.length;
    // Components still to walk.
    const todo = parts(path);
    let hops = 0;
    let name = "";
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === "..") {
        // `..` at the container's root stays there, as the kernel's does: the guest's `/` is all it
        // has, and node:wasi resolves the guest's own `/..` the same way. Above any other
        // directory fd the guest's own `..` is refused, until a symlink took the walk elsewhere.
        const atRoot = cur.length === this.#rootParts.length;
        if (cur.length <= floor && !atRoot) fail(E.NOTCAPABLE);
        if (!atRoot) cur.pop();
        continue;
      }
      const host = join([...cur, c]);
      const last = todo.length === 0 && !self;
      let st: Stats;
      try {
        st = this.lstat(host);
      } catch (err) {
        // A missing last component is what creating calls (and their errors) are about.
        if (last && (err as NodeJS.ErrnoException).code === "ENOENT") {
          name = c;
          break;
        }
        if (this.isHidden(host)) fail(E.NOENT);
        throw err;
      }
      if (st.isSymbolicLink() && (!last || follow || slash)) {
        if (++hops > MAX_HOPS) fail(E.LOOP);
        const target = readlinkSync(host);
        if (target.startsWith("/")) cur.splice(0, cur.length, ...this.#rootParts);
        floor = this.#rootParts.length;
        todo.unshift(...parts(target));
        continue;
      }
      if (last) {
        name = c;
        break;
      }
      if (!st.isDirectory()) fail(E.NOTDIR);
      cur.push(c);
    }
    const dir = join(cur);
    const target = name === "" ? dir : join([...cur, name]);
    return { dir, name, slash, host: slash && target !== "/" ? `${target}/` : target };
  }
}
