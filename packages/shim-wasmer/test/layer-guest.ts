import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, expect } from "vitest";
import { LOOKUP_SYMLINK_FOLLOW, RIGHTS } from "../src/wasi/abi.ts";
import { type Fn, type Layer, type LayerConfig, preview1Layer } from "../src/wasi/preview1.ts";

// A guest for the preview1 layer's tests: its import functions called directly, as a guest would,
// over a real directory standing in for the container's root. `base` records what reaches the
// engine underneath. `f`, `layer`, `root` and `baseCalls` are the current test's.

const scratch = mkdtempSync(join(tmpdir(), "wasi-layer-"));
const memory = new WebAssembly.Memory({ initial: 1 });
export const bytes = () => new Uint8Array(memory.buffer);
const view = () => new DataView(memory.buffer);
export const OUT = 60_000; // scratch area for results
export let root: string;
export let layer: Layer;
export let baseCalls: [string, ...unknown[]][];
export let f: Record<string, Fn>;

const base: Record<string, Fn> = Object.fromEntries(
  [
    "fd_write",
    "fd_read",
    "fd_close",
    "fd_fdstat_get",
    "poll_oneoff",
    "proc_exit",
    "sock_shutdown",
    "environ_get",
    "path_open",
    "fd_renumber",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_filestat_get",
    "fd_filestat_set_times",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_symlink",
    "path_readlink",
    "path_create_directory",
    "path_remove_directory",
    "path_unlink_file",
    "path_rename",
    "fd_readdir",
    "fd_seek",
    "fd_tell",
    "args_get",
    "args_sizes_get",
  ].map((name) => [name, (...a: unknown[]) => (baseCalls.push([name, ...a]), 0)]),
);

export function start(extra: Partial<LayerConfig> = {}) {
  baseCalls = [];
  layer = preview1Layer(base, () => memory, {
    args: ["/app/main.wasm", "x y", "ü"],
    root,
    preopens: [{ name: "/", path: "/" }],
    hidden: ["/proc", "/dev/.hidden"],
    files: true,
    run: "t",
    ...extra,
  });
  f = layer.imports;
}

/** Puts a string in guest memory; returns [ptr, len]. */
let heap = 1024;
export function str(s: string): [number, number] {
  const b = new TextEncoder().encode(s);
  const ptr = heap;
  bytes().set(b, ptr);
  heap += b.length + 8;
  return [ptr, b.length];
}
export const u32 = (ptr: number) => view().getUint32(ptr, true);
export const u64 = (ptr: number) => view().getBigUint64(ptr, true);

export function open(
  path: string,
  opts: { dir?: number; oflags?: number; rights?: bigint; fdflags?: number; lookup?: number } = {},
): number {
  const errno = f.path_open!(
    opts.dir ?? 3,
    opts.lookup ?? LOOKUP_SYMLINK_FOLLOW,
    ...str(path),
    opts.oflags ?? 0,
    opts.rights ?? RIGHTS.FD_READ,
    0n,
    opts.fdflags ?? 0,
    OUT,
  );
  if (errno !== 0) throw new Error(`path_open ${path}: errno ${errno}`);
  return u32(OUT);
}
export function write(fd: number, data: string): number {
  const [ptr, len] = str(data);
  view().setUint32(OUT + 16, ptr, true);
  view().setUint32(OUT + 20, len, true);
  return f.fd_write!(fd, OUT + 16, 1, OUT);
}
export function read(fd: number, max = 100): string {
  view().setUint32(OUT + 16, 2048, true);
  view().setUint32(OUT + 20, max, true);
  expect(f.fd_read!(fd, OUT + 16, 1, OUT)).toBe(0);
  return new TextDecoder().decode(bytes().slice(2048, 2048 + u32(OUT)));
}

/**
 * Before each test of the calling file: a fresh root (etc/app.conf, top.txt, and proc/ and
 * dev/.hidden, which the layer hides) and a layer over it; after each, the layer closed.
 */
export function eachTestOnAFreshRoot(): void {
  beforeEach(() => {
    heap = 1024;
    root = mkdtempSync(join(scratch, "root-"));
    mkdirSync(join(root, "etc"));
    writeFileSync(join(root, "etc", "app.conf"), "conf\n");
    writeFileSync(join(root, "top.txt"), "image file\n");
    mkdirSync(join(root, "proc"));
    writeFileSync(join(root, "proc", "secret"), "no");
    mkdirSync(join(root, "dev"));
    mkdirSync(join(root, "dev", ".hidden"));
    start();
  });
  afterEach(() => layer.close());
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
}
