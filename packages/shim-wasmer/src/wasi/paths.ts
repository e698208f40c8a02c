import * as fs from "node:fs";
import { E, fail, FDFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS } from "./abi.ts";
import { filetype, type HostFd } from "./fds.ts";
import { filestat, type Filestat } from "./files.ts";
import type { Resolver } from "./resolve.ts";
import * as times from "./times.ts";

// What path_* calls do, relative to a directory fd. The resolver walks every component but the
// last (following symlinks inside the root); the host call gets the rest, so the kernel's own
// rules for the last component (trailing slashes, no-follow, EEXIST, ENOTEMPTY…) are Linux's.

const c = fs.constants;

export interface PathCtx {
  resolver: Resolver;
  utimensat: times.Utimensat;
}

export function open(
  ctx: PathCtx,
  dir: HostFd,
  lookup: number,
  path: string,
  oflags: number,
  rights: bigint,
  fdflags: number,
): Omit<HostFd, "kind"> {
  const res = ctx.resolver.resolve(dir.path, path, (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0);
  const read = (rights & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
  const write = (rights & RIGHTS.FD_WRITE) !== 0n;
  let flags = (write ? (read ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY) | c.O_NOFOLLOW;
  if (oflags & OFLAGS.CREAT) flags |= c.O_CREAT;
  if (oflags & OFLAGS.EXCL) flags |= c.O_EXCL;
  if (oflags & OFLAGS.TRUNC) flags |= c.O_TRUNC;
  if (oflags & OFLAGS.DIRECTORY) flags |= c.O_DIRECTORY;
  if (fdflags & FDFLAGS.APPEND) flags |= c.O_APPEND;
  if (fdflags & FDFLAGS.NONBLOCK) flags |= c.O_NONBLOCK;
  if (fdflags & FDFLAGS.DSYNC) flags |= c.O_DSYNC;
  if (fdflags & (FDFLAGS.SYNC | FDFLAGS.RSYNC)) flags |= c.O_SYNC;
  const fd = fs.openSync(res.host, flags, 0o666);
  try {
    const type = filetype(fs.fstatSync(fd));
    const host = res.name === "" ? res.dir : `${res.dir === "/" ? "" : res.dir}/${res.name}`;
    return { fd, path: host, type, read, write, flags: fdflags & 0x1f, pos: 0 };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

const STDIO = ["stdin", "stdout", "stderr"];

/**
 * /dev/stdin, /dev/stdout and /dev/stderr name the guest's own fds 0, 1 and 2 (Linux links them
 * into /proc/self/fd, which a guest cannot see): the fd number, or undefined for any other path.
 */
export function stdioAlias(ctx: PathCtx, dir: HostFd, path: string): number | undefined {
  let res;
  try {
    res = ctx.resolver.resolve(dir.path, path, false);
  } catch {
    return undefined;
  }
  const n = STDIO.indexOf(res.name);
  return n >= 0 && res.dir === ctx.resolver.host("/dev") ? n : undefined;
}

/** The last component must name something in its directory, not the directory itself. */
function named(ctx: PathCtx, dir: HostFd, path: string, errno: number, follow = false) {
  const res = ctx.resolver.resolve(dir.path, path, follow);
  if (res.name === "") fail(errno);
  return res;
}

export function mkdir(ctx: PathCtx, dir: HostFd, path: string): void {
  fs.mkdirSync(named(ctx, dir, path, E.EXIST).host, 0o777);
}

export function rmdir(ctx: PathCtx, dir: HostFd, path: string): void {
  fs.rmdirSync(named(ctx, dir, path, E.INVAL).host);
}

export function unlink(ctx: PathCtx, dir: HostFd, path: string): void {
  fs.unlinkSync(named(ctx, dir, path, E.ISDIR).host);
}

export function rename(ctx: PathCtx, from: HostFd, fromPath: string, to: HostFd, toPath: string): void {
  fs.renameSync(named(ctx, from, fromPath, E.BUSY).host, named(ctx, to, toPath, E.BUSY).host);
}

/** An absolute target is refused (wasmtime does too): the link would mean a different thing outside the guest. */
export function symlink(ctx: PathCtx, target: string, dir: HostFd, path: string): void {
  if (target.startsWith("/")) fail(E.PERM);
  fs.symlinkSync(target, named(ctx, dir, path, E.EXIST).host);
}

export function link(ctx: PathCtx, from: HostFd, lookup: number, fromPath: string, to: HostFd, toPath: string): void {
  const src = named(ctx, from, fromPath, E.PERM, (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0);
  fs.linkSync(src.host, named(ctx, to, toPath, E.EXIST).host);
}

export function readlink(ctx: PathCtx, dir: HostFd, path: string): Buffer {
  return fs.readlinkSync(named(ctx, dir, path, E.INVAL).host, { encoding: "buffer" });
}

export function stat(ctx: PathCtx, dir: HostFd, lookup: number, path: string): Filestat {
  const res = ctx.resolver.resolve(dir.path, path, (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0);
  const st = fs.lstatSync(res.host, { bigint: true });
  return filestat(st, filetype(st as unknown as fs.Stats));
}

export function setTimes(
  ctx: PathCtx,
  dir: HostFd,
  lookup: number,
  path: string,
  atim: bigint,
  mtim: bigint,
  flags: number,
): void {
  const follow = (lookup & LOOKUP_SYMLINK_FOLLOW) !== 0;
  const res = ctx.resolver.resolve(dir.path, path, follow);
  times.setTimes(ctx.utimensat, res.host, follow, atim, mtim, flags);
}

export function fdFilestat(e: HostFd): Filestat {
  return filestat(fs.fstatSync(e.fd, { bigint: true }), e.type);
}
