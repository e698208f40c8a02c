import { constants, openSync, realpathSync } from "node:fs";
import { E, fail, guard } from "./abi.ts";
import { argvImports } from "./argv.ts";
import { type Entry, FdTable, type HostFd } from "./fds.ts";
import * as files from "./files.ts";
import { encode, GuestMemory } from "./memory.ts";
import * as paths from "./paths.ts";
import { openPreopens } from "./preopens.ts";
import { Resolver } from "./resolve.ts";
import { directUtimensat, fdPath, setTimes, type Utimensat } from "./times.ts";
import { pollOneoff } from "./poll.ts";

// Wasm import signatures vary by function.
export type Fn = (...args: any[]) => any;

/** What the layer serves; travels to the SDK worker inside the module (see run-config.ts). */
export interface LayerConfig {
  /** argv as the guest sees it, argv[0] included. */
  args: string[];
  /** Host path of the guest's `/`. */
  root: string;
  /** Directories preopened from fd 3 on: the name the guest sees and the guest path. */
  preopens: { name: string; path: string }[];
  /** Guest paths that do not exist for the guest. */
  hidden: string[];
  /** Serve the file system (false: only argv, for modules the layer cannot serve). */
  files: boolean;
  /** Names this run, for the message that ends it (see guest-hook.ts). */
  run: string;
  /**
   * The file type fds 0, 1 and 2 report: what the container's own stdio are (see stdioTypes in
   * engine.ts), where the base would say something else. Absent: the base's answer stands.
   */
  stdio?: number[];
}

export interface Layer {
  imports: Record<string, Fn>;
  /** Closes every host fd the guest left open. */
  close(): void;
}

const u64 = (v: bigint) => BigInt.asUintN(64, v);

/**
 * WASI preview1's file system over Node's fs, layered onto another implementation's imports
 * (`base`: the SDK's, in the SDK worker). The guest's fd numbers are this layer's: stdio stays
 * the base's (its fds are called under their own numbers), every file and directory is a host fd
 * opened here, inside the container, so the container's mounts and permissions apply. File times
 * are set with `utimensat`: the native helper itself where this thread can load it, otherwise a
 * relay to a thread that did (native-relay.ts).
 */
export function preview1Layer(
  base: Record<string, Fn>,
  memory: () => WebAssembly.Memory,
  config: LayerConfig,
  utimensat: Utimensat = directUtimensat,
): Layer {
  const mem = new GuestMemory(memory);
  const argv = argvImports(mem, config.args);
  if (!config.files) return { imports: overlay(base, argv), close: () => {} };

  const resolver = new Resolver(realpathSync(config.root), config.hidden);
  const ctx = { resolver, utimensat };
  const table = new FdTable([0, 1, 2]);
  openPreopens(table, resolver, config.preopens);

  /**
   * An fd_* call: a base fd goes to the base under its own number (then `after` may correct what
   * it wrote at the call's last pointer), a host fd to `own`.
   */
  const onFd =
    (name: string, own: (e: HostFd, ...a: any[]) => unknown, after?: (base: number, ptr: number) => void): Fn =>
    (fd: number, ...a: unknown[]) => {
      const e = table.find(fd);
      if (!e) return E.BADF;
      if (e.kind === "base") {
        if (!base[name]) return E.BADF;
        const errno = base[name](e.fd, ...a);
        return errno === E.SUCCESS && after ? guard(() => after(e.fd, a.at(-1) as number)) : errno;
      }
      return guard(() => own(e, ...a));
    };
  /**
   * The file type the base wrote for its stdio fd `fd`, made the container's (config.stdio): the
   * SDK calls all three character devices, which wasi-libc's isatty() takes for terminals.
   */
  const stdioType = (at: number) => (fd: number, ptr: number) => {
    const type = config.stdio?.[fd];
    if (type !== undefined) mem.setU8(ptr + at, type);
  };
  /** A path_* call relative to a directory fd. */
  const onDir =
    (own: (dir: HostFd, ...a: any[]) => unknown): Fn =>
    (fd: number, ...a: unknown[]) =>
      guard(() => own(table.dir(fd), ...a));
  const closeBase = (fd: number | undefined) => (fd !== undefined && base.fd_close ? base.fd_close(fd) : E.SUCCESS);

  const writeFilestat = (ptr: number, s: files.Filestat) => {
    mem.bytes(ptr, 64).fill(0);
    mem.setU64(ptr, s.dev);
    mem.setU64(ptr + 8, s.ino);
    mem.setU8(ptr + 16, s.filetype);
    mem.setU64(ptr + 24, s.nlink);
    mem.setU64(ptr + 32, s.size);
    mem.setU64(ptr + 40, s.atim);
    mem.setU64(ptr + 48, s.mtim);
    mem.setU64(ptr + 56, s.ctim);
  };
  const str = (ptr: number, len: number) => mem.string(ptr, len);
  /** Another guest fd for what guest fd `n` (0, 1 or 2) is now. */
  const stdio = (n: number): Entry => {
    const e = table.find(n) ?? fail(E.NOENT);
    if (e.kind === "base") return { ...e };
    const fd = openSync(
      `/proc/self/fd/${e.fd}`,
      e.write ? (e.read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY,
    );
    const { preopen: _p, listing: _l, ...rest } = e;
    return { ...rest, fd, pos: 0 };
  };
  const notSocket = (fd: number) => (table.find(fd) ? E.NOTSOCK : E.BADF);

  const own: Record<string, Fn> = {
    ...argv,
    fd_advise: onFd("fd_advise", (e, _off, _len, advice: number) => files.advise(e, advice)),
    fd_allocate: onFd("fd_allocate", (e, off: bigint, len: bigint) => files.allocate(e, u64(off), u64(len))),
    fd_close: (fd: number) => {
      if (!table.find(fd)) return E.BADF;
      let handed: number | undefined;
      const err = guard(() => {
        handed = table.close(fd)?.fd;
      });
      return err || closeBase(handed);
    },
    fd_datasync: onFd("fd_datasync", (e) => files.sync(e, true)),
    fd_sync: onFd("fd_sync", (e) => files.sync(e, false)),
    fd_fdstat_get: onFd(
      "fd_fdstat_get",
      (e, ptr: number) => {
        const s = files.fdstat(e);
        mem.bytes(ptr, 24).fill(0);
        mem.setU8(ptr, s.filetype);
        mem.setU16(ptr + 2, s.flags);
        mem.setU64(ptr + 8, s.base);
        mem.setU64(ptr + 16, s.inheriting);
      },
      stdioType(0),
    ),
    fd_fdstat_set_flags: onFd("fd_fdstat_set_flags", (e, flags: number) => files.setFlags(e, flags)),
    // Rights are reported, not kept (as in wasmtime): a guest that would drop some is told NOTSUP.
    fd_fdstat_set_rights: onFd("fd_fdstat_set_rights", () => E.NOTSUP),
    fd_filestat_get: onFd(
      "fd_filestat_get",
      (e, ptr: number) => writeFilestat(ptr, paths.fdFilestat(e)),
      stdioType(16),
    ),
    fd_filestat_set_size: onFd("fd_filestat_set_size", (e, size: bigint) => files.setSize(e, u64(size))),
    fd_filestat_set_times: onFd("fd_filestat_set_times", (e, atim: bigint, mtim: bigint, flags: number) =>
      setTimes(utimensat, fdPath(e.fd), true, u64(atim), u64(mtim), flags),
    ),
    fd_pread: onFd("fd_pread", (e, iovs: number, n: number, off: bigint, out: number) =>
      mem.setU32(out, files.read(e, mem.iovecs(iovs, n), Number(u64(off)))),
    ),
    fd_pwrite: onFd("fd_pwrite", (e, iovs: number, n: number, off: bigint, out: number) =>
      mem.setU32(out, files.write(e, mem.iovecs(iovs, n), Number(u64(off)))),
    ),
    fd_read: onFd("fd_read", (e, iovs: number, n: number, out: number) =>
      mem.setU32(out, files.read(e, mem.iovecs(iovs, n))),
    ),
    fd_write: onFd("fd_write", (e, iovs: number, n: number, out: number) =>
      mem.setU32(out, files.write(e, mem.iovecs(iovs, n))),
    ),
    fd_prestat_get: (fd: number, ptr: number) => {
      const e = table.find(fd);
      if (e?.kind !== "host" || e.preopen === undefined) return E.BADF;
      return guard(() => {
        mem.setU32(ptr, 0);
        mem.setU32(ptr + 4, encode(e.preopen!).length);
      });
    },
    fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
      const e = table.find(fd);
      if (e?.kind !== "host" || e.preopen === undefined) return E.BADF;
      const name = encode(e.preopen);
      return len < name.length ? E.NAMETOOLONG : guard(() => mem.write(ptr, name) && undefined);
    },
    fd_readdir: onFd("fd_readdir", (e, buf: number, len: number, cookie: bigint, used: number) =>
      mem.setU32(used, mem.write(buf, files.readdir(e, u64(cookie), len, resolver))),
    ),
    fd_renumber: (from: number, to: number) => {
      if (!table.find(from) || !table.find(to)) return E.BADF;
      let handed: number | undefined;
      const err = guard(() => {
        handed = table.renumber(from, to)?.fd;
      });
      return err || closeBase(handed);
    },
    fd_seek: onFd("fd_seek", (e, off: bigint, whence: number, out: number) =>
      mem.setU64(out, files.seek(e, off, whence)),
    ),
    fd_tell: onFd("fd_tell", (e, out: number) => mem.setU64(out, files.tell(e))),
    path_create_directory: onDir((d, p: number, l: number) => paths.mkdir(ctx, d, str(p, l))),
    path_filestat_get: onDir((d, flags: number, p: number, l: number, buf: number) =>
      writeFilestat(buf, paths.stat(ctx, d, flags, str(p, l))),
    ),
    path_filestat_set_times: onDir((d, flags: number, p: number, l: number, atim: bigint, mtim: bigint, fst: number) =>
      paths.setTimes(ctx, d, flags, str(p, l), u64(atim), u64(mtim), fst),
    ),
    path_link: (from: number, flags: number, op: number, ol: number, to: number, np: number, nl: number) =>
      guard(() => paths.link(ctx, table.dir(from), flags, str(op, ol), table.dir(to), str(np, nl))),
    path_open: onDir(
      (
        d,
        lookup: number,
        p: number,
        l: number,
        oflags: number,
        rights: bigint,
        _inherit: bigint,
        fdflags: number,
        out: number,
      ) => {
        const path = str(p, l);
        const std = paths.stdioAlias(ctx, d, path);
        const fd = table.add(
          std === undefined
            ? { kind: "host", ...paths.open(ctx, d, lookup, path, oflags, u64(rights), fdflags) }
            : stdio(std),
        );
        try {
          mem.setU32(out, fd);
        } catch (err) {
          table.close(fd);
          throw err;
        }
      },
    ),
    path_readlink: onDir((d, p: number, l: number, buf: number, len: number, used: number) =>
      mem.setU32(used, mem.write(buf, paths.readlink(ctx, d, str(p, l)), len)),
    ),
    path_remove_directory: onDir((d, p: number, l: number) => paths.rmdir(ctx, d, str(p, l))),
    path_rename: (from: number, op: number, ol: number, to: number, np: number, nl: number) =>
      guard(() => paths.rename(ctx, table.dir(from), str(op, ol), table.dir(to), str(np, nl))),
    path_symlink: (op: number, ol: number, fd: number, np: number, nl: number) =>
      guard(() => paths.symlink(ctx, str(op, ol), table.dir(fd), str(np, nl))),
    path_unlink_file: onDir((d, p: number, l: number) => paths.unlink(ctx, d, str(p, l))),
    poll_oneoff: (inPtr: number, outPtr: number, n: number, nevents: number) =>
      pollOneoff({ mem, table, base }, inPtr, outPtr, n, nevents),
    // A preview1 guest has no way to get a socket (nothing is preopened as one, and the SDK's
    // stdio are pipes), so every open fd is not a socket.
    sock_accept: notSocket,
    sock_recv: notSocket,
    sock_send: notSocket,
    sock_shutdown: notSocket,
    proc_exit: (code: number) => {
      table.closeAll();
      return base.proc_exit!(code);
    },
  };
  return { imports: overlay(base, own), close: () => table.closeAll() };
}

/** `base` with the functions `own` has for the same names: what the module imports, nothing more. */
function overlay(base: Record<string, Fn>, own: Record<string, Fn>): Record<string, Fn> {
  return Object.fromEntries(Object.entries(base).map(([k, v]) => [k, own[k] ?? v]));
}
