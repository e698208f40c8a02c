import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { E, FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS } from "../src/wasi/abi.ts";
import { bytes, eachTestOnAFreshRoot, f, OUT, open, read, root, str, u32, u64, write } from "./layer-guest.ts";

// The preview1 layer's files and paths over a directory standing for the container's root
// (layer-guest.ts calls its imports as a guest would): what the guest does lands on the host,
// paths stay inside the root, the image's symlinks resolve from it, hidden paths stay hidden,
// and file times are kept to the nanosecond.

describe("the preview1 layer's files and paths in the container's root", () => {
  eachTestOnAFreshRoot();

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
});
