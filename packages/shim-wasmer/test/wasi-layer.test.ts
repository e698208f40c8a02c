import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { E, FILETYPE, OFLAGS, RIGHTS } from "../src/wasi/abi.ts";
import {
  baseCalls,
  bytes,
  eachTestOnAFreshRoot,
  f,
  layer,
  OUT,
  open,
  read,
  root,
  start,
  u32,
  write,
} from "./layer-guest.ts";

// The preview1 layer's own fds and what it hands down (layer-guest.ts calls its imports as a
// guest would): the preopens, stdio left to the engine underneath, argv, sockets, and closing.
// Paths and files: wasi-layer-files.test.ts.

describe("the preview1 layer over a directory that stands for the container's root", () => {
  eachTestOnAFreshRoot();

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
