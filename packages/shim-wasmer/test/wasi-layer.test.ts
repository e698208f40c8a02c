import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { E, FILETYPE, FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS } from "../src/wasi/abi.ts";
import { type Fn, type Layer, type LayerConfig, preview1Layer } from "../src/wasi/preview1.ts";

// The preview1 layer's import functions called directly, as a guest would, over a real directory
// standing in for the container's root. `base` records what reaches the engine underneath.

const scratch = mkdtempSync(join(tmpdir(), "wasi-layer-"));
const memory = new WebAssembly.Memory({ initial: 1 });
const bytes = () => new Uint8Array(memory.buffer);
const view = () => new DataView(memory.buffer);
const OUT = 60_000; // scratch area for results
let root: string;
let layer: Layer;
let baseCalls: [string, ...unknown[]][];
let f: Record<string, Fn>;

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

function start(extra: Partial<LayerConfig> = {}) {
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
function str(s: string): [number, number] {
  const b = new TextEncoder().encode(s);
  const ptr = heap;
  bytes().set(b, ptr);
  heap += b.length + 8;
  return [ptr, b.length];
}
const u32 = (ptr: number) => view().getUint32(ptr, true);
const u64 = (ptr: number) => view().getBigUint64(ptr, true);

function open(
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
function write(fd: number, data: string): number {
  const [ptr, len] = str(data);
  view().setUint32(OUT + 16, ptr, true);
  view().setUint32(OUT + 20, len, true);
  return f.fd_write!(fd, OUT + 16, 1, OUT);
}
function read(fd: number, max = 100): string {
  view().setUint32(OUT + 16, 2048, true);
  view().setUint32(OUT + 20, max, true);
  expect(f.fd_read!(fd, OUT + 16, 1, OUT)).toBe(0);
  return new TextDecoder().decode(bytes().slice(2048, 2048 + u32(OUT)));
}

describe("the preview1 layer over a directory that stands for the container's root", () => {
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

  it("preopens the root as fd 3, a directory named /", () => {
    expect(f.fd_prestat_get!(3, OUT)).toBe(0);
    expect([bytes()[OUT], u32(OUT + 4)]).toEqual([0, 1]);
    expect(f.fd_prestat_dir_name!(3, OUT, 0)).toBe(E.NAMETOOLONG);
    expect(f.fd_prestat_dir_name!(3, OUT, 1)).toBe(0);
    expect(bytes()[OUT]).toBe("/".charCodeAt(0));
    expect(f.fd_prestat_get!(4, OUT)).toBe(E.BADF);
    expect(f.fd_fdstat_get!(3, OUT)).toBe(0);
    expect(bytes()[OUT]).toBe(FILETYPE.DIRECTORY);
    const dot = open(".", { oflags: OFLAGS.DIRECTORY });
    expect(dot).toBeGreaterThan(3);
  });

  it("creates, appends, renames and removes files and directories at the top of /, on the host", () => {
    const fd = open("new.txt", { oflags: OFLAGS.CREAT, rights: RIGHTS.FD_WRITE });
    expect(write(fd, "one\n")).toBe(0);
    expect(f.fd_close!(fd)).toBe(0);
    const app = open("new.txt", { rights: RIGHTS.FD_WRITE, fdflags: 1 });
    expect(write(app, "two\n")).toBe(0);
    expect(readFileSync(join(root, "new.txt"), "utf8")).toBe("one\ntwo\n");
    expect(f.path_rename!(3, ...str("new.txt"), 3, ...str("moved.txt"))).toBe(0);
    expect(f.path_create_directory!(3, ...str("topdir"))).toBe(0);
    expect(statSync(join(root, "topdir")).isDirectory()).toBe(true);
    expect(f.path_remove_directory!(3, ...str("topdir"))).toBe(0);
    expect(f.path_unlink_file!(3, ...str("moved.txt"))).toBe(0);
    expect(readdirSync(root).sort()).toEqual(["dev", "etc", "proc", "top.txt"]);
  });

  it("reads and writes the image's top-level files live", () => {
    const fd = open("top.txt", { rights: RIGHTS.FD_READ | RIGHTS.FD_WRITE });
    writeFileSync(join(root, "top.txt"), "changed on the host\n");
    expect(read(fd)).toBe("changed on the host\n");
    expect(write(fd, "guest\n")).toBe(0);
    expect(readFileSync(join(root, "top.txt"), "utf8")).toBe("changed on the host\nguest\n");
  });

  it("keeps paths inside the directory they are relative to; `..` of the root is the root", () => {
    expect(f.path_open!(3, 0, ...str("/etc/app.conf"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOTCAPABLE);
    const etc = open("etc", { oflags: OFLAGS.DIRECTORY });
    expect(f.path_open!(etc, 0, ...str("../top.txt"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOTCAPABLE);
    expect(f.path_open!(etc, 0, ...str("../../etc/app.conf"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOTCAPABLE);
    // What wasi-libc sends for "../data.txt" in the working directory "/", and Linux opens /data.txt.
    expect(read(open("../etc/app.conf"))).toBe("conf\n");
    expect(read(open("etc/../../../top.txt"))).toBe("image file\n");
    expect(read(open("app.conf", { dir: etc }))).toBe("conf\n");
    expect(f.path_open!(3, 0, ...str("etc/app.conf\0"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.INVAL);
  });

  it("takes `a/.` for a itself, which must be a directory", () => {
    symlinkSync("etc", join(root, "etc-link"));
    expect(read(open("etc-link/./app.conf"))).toBe("conf\n");
    const etc = open("etc-link/.", { oflags: OFLAGS.DIRECTORY, lookup: 0 });
    expect(read(open("app.conf", { dir: etc }))).toBe("conf\n");
    expect(f.path_open!(3, 0, ...str("top.txt/."), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOTDIR);
    expect(f.path_open!(3, 0, ...str("missing/."), OFLAGS.CREAT, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOENT);
    // As Linux: `a/.` cannot be removed, made or unlinked as a name in its parent.
    expect(f.path_remove_directory!(3, ...str("etc/."))).toBe(E.INVAL);
    expect(f.path_create_directory!(3, ...str("etc/."))).toBe(E.EXIST);
    expect(existsSync(join(root, "etc", "app.conf"))).toBe(true);
  });

  it("resolves the image's symlinks from the container's root, never the host's", () => {
    symlinkSync("/etc/app.conf", join(root, "abs-link"));
    symlinkSync("../../../../../../etc", join(root, "etc", "up-link"));
    expect(read(open("abs-link"))).toBe("conf\n");
    expect(read(open("etc/up-link/app.conf"))).toBe("conf\n");
    expect(f.path_open!(3, 0, ...str("abs-link"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.LOOP);
  });

  it("creates relative symlinks, refuses absolute ones, and reads links partially", () => {
    expect(f.path_symlink!(...str("etc/app.conf"), 3, ...str("rel"))).toBe(0);
    expect(readlinkSync(join(root, "rel"))).toBe("etc/app.conf");
    expect(f.path_symlink!(...str("/etc"), 3, ...str("abs"))).toBe(E.PERM);
    expect(f.path_readlink!(3, ...str("rel"), OUT + 100, 4, OUT)).toBe(0);
    expect([u32(OUT), new TextDecoder().decode(bytes().slice(OUT + 100, OUT + 104))]).toEqual([4, "etc/"]);
  });

  it("hides the paths it is told to, in lookups and listings", () => {
    expect(f.path_open!(3, 0, ...str("proc/secret"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOENT);
    expect(f.path_filestat_get!(3, 0, ...str("dev/.hidden"), OUT)).toBe(E.NOENT);
    symlinkSync("/proc/secret", join(root, "to-secret"));
    expect(f.path_open!(3, LOOKUP_SYMLINK_FOLLOW, ...str("to-secret"), 0, RIGHTS.FD_READ, 0n, 0, OUT)).toBe(E.NOENT);
    const names = (fd: number) => {
      expect(f.fd_readdir!(fd, OUT + 200, 2000, 0n, OUT)).toBe(0);
      const out: string[] = [];
      for (let at = OUT + 200, end = at + u32(OUT); at < end; ) {
        const len = u32(at + 16);
        out.push(new TextDecoder().decode(bytes().slice(at + 24, at + 24 + len)));
        at += 24 + len;
      }
      return out.sort();
    };
    expect(names(3)).toEqual([".", "..", "dev", "etc", "to-secret", "top.txt"]);
    expect(names(open("dev", { oflags: OFLAGS.DIRECTORY }))).toEqual([".", ".."]);
  });

  it("sets file times on the host to the nanosecond, leaving an omitted one as it was", () => {
    const fd = open("top.txt", { rights: RIGHTS.FD_READ });
    expect(f.fd_filestat_get!(fd, OUT)).toBe(0);
    const [atim, mtim] = [u64(OUT + 40), u64(OUT + 48)];
    expect(f.fd_filestat_set_times!(fd, 0n, mtim - 123_456_789n, FSTFLAGS.MTIM)).toBe(0);
    expect(f.fd_filestat_get!(fd, OUT)).toBe(0);
    expect([u64(OUT + 40), u64(OUT + 48)]).toEqual([atim, mtim - 123_456_789n]);
    // The file itself holds them, not the layer.
    const st = lstatSync(join(root, "top.txt"), { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([atim, mtim - 123_456_789n]);
    expect(f.fd_filestat_set_times!(fd, 0n, 0n, FSTFLAGS.MTIM | FSTFLAGS.MTIM_NOW)).toBe(E.INVAL);
    expect(f.fd_filestat_set_times!(fd, 0n, 0n, 0x10)).toBe(E.INVAL);
  });

  it("sets a symlink's own times, or its target's, as the lookup flags say", () => {
    symlinkSync("top.txt", join(root, "link"));
    const target = lstatSync(join(root, "top.txt"), { bigint: true });
    expect(
      f.path_filestat_set_times!(3, 0, ...str("link"), 1_000_000_007n, 2_000_000_009n, FSTFLAGS.ATIM | FSTFLAGS.MTIM),
    ).toBe(0);
    const link = lstatSync(join(root, "link"), { bigint: true });
    expect([link.atimeNs, link.mtimeNs]).toEqual([1_000_000_007n, 2_000_000_009n]);
    expect(lstatSync(join(root, "top.txt"), { bigint: true }).mtimeNs).toBe(target.mtimeNs);
    expect(
      f.path_filestat_set_times!(3, LOOKUP_SYMLINK_FOLLOW, ...str("link"), 0n, 3_000_000_011n, FSTFLAGS.MTIM),
    ).toBe(0);
    expect(lstatSync(join(root, "top.txt"), { bigint: true }).mtimeNs).toBe(3_000_000_011n);
    expect(f.path_filestat_set_times!(3, 0, ...str("missing"), 0n, 0n, FSTFLAGS.MTIM_NOW)).toBe(E.NOENT);
  });

  it("hands stdio to the engine underneath, under its own numbers even after fd_renumber", () => {
    expect(write(1, "out")).toBe(0);
    expect(baseCalls.at(-1)?.slice(0, 2)).toEqual(["fd_write", 1]);
    const file = open("top.txt");
    expect(f.fd_renumber!(1, file)).toBe(0);
    expect(f.fd_fdstat_get!(1, OUT)).toBe(E.BADF);
    expect(f.fd_fdstat_get!(file, OUT)).toBe(0);
    expect(baseCalls.at(-1)?.slice(0, 2)).toEqual(["fd_fdstat_get", 1]);
    expect(f.fd_close!(file)).toBe(0);
    expect(baseCalls.at(-1)?.slice(0, 2)).toEqual(["fd_close", 1]);
  });

  it("reports stdio as the container's are, a terminal or not, whatever the base says", () => {
    layer.close();
    start({ stdio: [FILETYPE.UNKNOWN, FILETYPE.CHARACTER_DEVICE, FILETYPE.UNKNOWN] });
    const type = (fd: number, call: "fd_fdstat_get" | "fd_filestat_get", at: number) => {
      bytes()[OUT + at] = 99;
      expect(f[call]!(fd, OUT)).toBe(0);
      return bytes()[OUT + at];
    };
    expect([0, 1, 2].map((fd) => type(fd, "fd_fdstat_get", 0))).toEqual([
      FILETYPE.UNKNOWN,
      FILETYPE.CHARACTER_DEVICE,
      FILETYPE.UNKNOWN,
    ]);
    expect([0, 1, 2].map((fd) => type(fd, "fd_filestat_get", 16))).toEqual([
      FILETYPE.UNKNOWN,
      FILETYPE.CHARACTER_DEVICE,
      FILETYPE.UNKNOWN,
    ]);
    // Renumbered, fd 1 is still the base's fd 1.
    expect(f.fd_renumber!(1, 0)).toBe(0);
    expect(type(0, "fd_fdstat_get", 0)).toBe(FILETYPE.CHARACTER_DEVICE);
  });

  it("opens /dev/stdout as another fd for the guest's fd 1", () => {
    mkdirSync(join(root, "dev", "x"));
    symlinkSync("/proc/self/fd/1", join(root, "dev", "stdout"));
    const fd = open("dev/stdout", { rights: RIGHTS.FD_WRITE });
    expect(write(fd, "via dev")).toBe(0);
    expect(baseCalls.at(-1)?.slice(0, 2)).toEqual(["fd_write", 1]);
    expect(f.fd_close!(fd)).toBe(0);
    expect(baseCalls.map((c) => c[0])).not.toContain("fd_close");
  });

  it("answers socket calls: no open fd is a socket", () => {
    expect(f.sock_shutdown!(3, 1)).toBe(E.NOTSOCK);
    expect(f.sock_shutdown!(1, 1)).toBe(E.NOTSOCK);
    expect(f.sock_shutdown!(99, 1)).toBe(E.BADF);
  });

  it("gives the guest the image's argv, argv[0] as given", () => {
    expect(f.args_sizes_get!(OUT, OUT + 4)).toBe(0);
    expect([u32(OUT), u32(OUT + 4)]).toEqual([3, "/app/main.wasm".length + 1 + 4 + 3]);
    expect(f.args_get!(OUT + 100, OUT + 200)).toBe(0);
    const args = [0, 1, 2].map((i) => {
      const p = u32(OUT + 100 + 4 * i);
      return new TextDecoder().decode(bytes().slice(p, bytes().indexOf(0, p)));
    });
    expect(args).toEqual(["/app/main.wasm", "x y", "ü"]);
  });

  it("closes every host fd when the run is over", () => {
    const fd = open("top.txt");
    expect(f.fd_filestat_get!(fd, OUT)).toBe(0);
    layer.close();
    expect(f.fd_filestat_get!(fd, OUT)).toBe(E.BADF);
    expect(f.fd_prestat_get!(3, OUT)).toBe(E.BADF);
  });

  it("preopens the working directory as . when it is not /", () => {
    layer.close();
    start({
      preopens: [
        { name: "/", path: "/" },
        { name: ".", path: "/etc" },
      ],
    });
    expect(f.fd_prestat_dir_name!(4, OUT, 1)).toBe(0);
    expect(bytes()[OUT]).toBe(".".charCodeAt(0));
    expect(read(open("app.conf", { dir: 4 }))).toBe("conf\n");
    expect(existsSync(join(root, "etc"))).toBe(true);
  });
});
