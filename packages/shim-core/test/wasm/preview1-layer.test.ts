import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Errno, Fdflags, Filetype, Fstflags, Oflags } from "../../src/wasm/preview1/abi.ts";
import { Guest, ROOT_FD } from "./guest.ts";

// Each case is a uvwasi behaviour the WASI suite caught; the comment says what uvwasi does alone.
describe("the preview1 layer over node:wasi", () => {
  let root: string;
  let g: Guest;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "preview1-"));
    g = new Guest(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const host = (p: string) => join(root, p);

  it("refuses a path holding a NUL byte (uvwasi: acts on the path before it)", () => {
    writeFileSync(host("file"), "x");
    expect(g.open(ROOT_FD, "file\0").rc).toBe(Errno.INVAL);
    expect(g.open(ROOT_FD, "file\0junk").rc).toBe(Errno.INVAL);
    const [p, l] = g.put("dir\0");
    expect(g.call("path_create_directory", ROOT_FD, p, l)).toBe(Errno.INVAL);
    expect(existsSync(host("dir"))).toBe(false);
    expect(g.open(ROOT_FD, "file").rc).toBe(Errno.SUCCESS);
  });

  it("does not follow a final symlink without SYMLINK_FOLLOW (uvwasi: follows it)", () => {
    mkdirSync(host("target"));
    symlinkSync("target", host("link"));
    symlinkSync("nowhere", host("dangling"));
    writeFileSync(host("file"), "keep");
    symlinkSync("file", host("file-link"));
    expect(g.open(ROOT_FD, "link", { oflags: Oflags.DIRECTORY }).rc).toBe(Errno.LOOP);
    expect(g.open(ROOT_FD, "dangling", { oflags: Oflags.DIRECTORY }).rc).toBe(Errno.LOOP);
    expect(g.open(ROOT_FD, "dangling").rc).toBe(Errno.LOOP);
    // Refused before anything is done to the target.
    expect(g.open(ROOT_FD, "file-link", { oflags: Oflags.TRUNC }).rc).toBe(Errno.LOOP);
    expect(readFileSync(host("file"), "utf8")).toBe("keep");
    // Followed when asked, or when a trailing slash makes the kernel follow it anyway.
    expect(g.open(ROOT_FD, "link", { oflags: Oflags.DIRECTORY, follow: true }).rc).toBe(Errno.SUCCESS);
    expect(g.open(ROOT_FD, "link/", { oflags: Oflags.DIRECTORY }).rc).toBe(Errno.SUCCESS);
    // O_CREAT|O_EXCL on an existing symlink is EEXIST, as the kernel says.
    expect(g.open(ROOT_FD, "dangling", { oflags: Oflags.CREAT | Oflags.EXCL }).rc).toBe(Errno.EXIST);
  });

  it("lists . and .. with real inode numbers and types (uvwasi: neither, inode 0)", () => {
    mkdirSync(host("d"));
    writeFileSync(host("d/file"), "");
    mkdirSync(host("d/sub"));
    symlinkSync("file", host("d/link"));
    const { fd } = g.open(ROOT_FD, "d", { oflags: Oflags.DIRECTORY });
    const { rc, entries, full } = g.readdir(fd, 0n, 4096);
    expect([rc, full]).toEqual([Errno.SUCCESS, false]);
    expect(entries.map((e) => [e.name, e.type, e.ino])).toEqual([
      [".", Filetype.DIRECTORY, lstatSync(host("d"), { bigint: true }).ino],
      ["..", Filetype.DIRECTORY, lstatSync(root, { bigint: true }).ino],
      ["file", Filetype.REGULAR_FILE, lstatSync(host("d/file"), { bigint: true }).ino],
      ["link", Filetype.SYMBOLIC_LINK, lstatSync(host("d/link"), { bigint: true }).ino],
      ["sub", Filetype.DIRECTORY, lstatSync(host("d/sub"), { bigint: true }).ino],
    ]);
    // A cookie resumes after the entry it came from.
    expect(g.readdir(fd, entries[2]!.next, 4096).entries.map((e) => e.name)).toEqual(["link", "sub"]);
    // The preopen's `..` is not shown from outside it: it is the preopen itself.
    const top = g.readdir(ROOT_FD, 0n, 4096).entries;
    expect(top.find((e) => e.name === "..")?.ino).toBe(lstatSync(root, { bigint: true }).ino);
  });

  it("misses no entry when the guest removes entries as it reads (rm -r), reading in small buffers", () => {
    mkdirSync(host("many"));
    const names = Array.from({ length: 60 }, (_, i) => `entry-${String(i).padStart(2, "0")}`);
    for (const n of names) writeFileSync(host(`many/${n}`), "");
    const { fd } = g.open(ROOT_FD, "many", { oflags: Oflags.DIRECTORY });
    const seen: string[] = [];
    let cookie = 0n;
    for (;;) {
      const { entries, full } = g.readdir(fd, cookie, 160);
      for (const e of entries) {
        if (e.name !== "." && e.name !== "..") {
          seen.push(e.name);
          const [p, l] = g.put(`many/${e.name}`);
          expect(g.call("path_unlink_file", ROOT_FD, p, l)).toBe(Errno.SUCCESS);
        }
        cookie = e.next;
      }
      if (!full) break;
    }
    expect(seen).toEqual(names);
    const [p, l] = g.put("many");
    expect(g.call("path_remove_directory", ROOT_FD, p, l)).toBe(Errno.SUCCESS);
  });

  it("reports fdflags, not the host's F_GETFL bits (uvwasi: access mode and O_LARGEFILE leak in)", () => {
    expect(g.fdflags(ROOT_FD)).toBe(0);
    const append = g.open(ROOT_FD, "a", { oflags: Oflags.CREAT, fdflags: Fdflags.APPEND });
    expect(g.fdflags(append.fd)).toBe(Fdflags.APPEND);
    // Write-only is O_WRONLY (1) on the host, which uvwasi reported as APPEND.
    const writeOnly = g.open(ROOT_FD, "w", { oflags: Oflags.CREAT, rights: 1n << 6n });
    expect(writeOnly.rc).toBe(Errno.SUCCESS);
    expect(g.fdflags(writeOnly.fd)).toBe(0);
    const sync = g.open(ROOT_FD, "s", { oflags: Oflags.CREAT, fdflags: Fdflags.SYNC });
    expect(sync.rc).toBe(Errno.SUCCESS);
    expect(g.fdflags(sync.fd) & Fdflags.SYNC).toBe(Fdflags.SYNC);
    expect(g.call("fd_fdstat_set_flags", append.fd, Fdflags.NONBLOCK)).toBe(Errno.SUCCESS);
    expect(g.fdflags(append.fd)).toBe(Fdflags.NONBLOCK);
  });

  it("sets times to the nanosecond and leaves an omitted one exactly as it was (uvwasi: whole seconds)", () => {
    const { fd } = g.open(ROOT_FD, "f", { oflags: Oflags.CREAT });
    const atime = lstatSync(host("f"), { bigint: true }).atimeNs;
    expect(g.call("fd_filestat_set_times", fd, 0n, 1_600_000_000_123_456_789n, Fstflags.MTIM)).toBe(Errno.SUCCESS);
    let st = lstatSync(host("f"), { bigint: true });
    expect([st.mtimeNs, st.atimeNs]).toEqual([1_600_000_000_123_456_789n, atime]);
    symlinkSync("f", host("l"));
    const [p, l] = g.put("l");
    expect(g.call("path_filestat_set_times", ROOT_FD, 0, p, l, 0n, 1_500_000_000_000_000_001n, Fstflags.MTIM)).toBe(
      Errno.SUCCESS,
    );
    expect(lstatSync(host("l"), { bigint: true }).mtimeNs).toBe(1_500_000_000_000_000_001n);
    expect(lstatSync(host("f"), { bigint: true }).mtimeNs).toBe(1_600_000_000_123_456_789n);
    expect(g.call("path_filestat_set_times", ROOT_FD, 1, p, l, 1_400_000_000_000_000_003n, 0n, Fstflags.ATIM)).toBe(
      Errno.SUCCESS,
    );
    st = lstatSync(host("f"), { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_400_000_000_000_000_003n, 1_600_000_000_123_456_789n]);
  });

  it("refuses bad fstflags with INVAL and the directory stays usable (uvwasi: keeps it locked for ever)", () => {
    writeFileSync(host("f"), "");
    const [p, l] = g.put("f");
    expect(g.call("path_filestat_set_times", ROOT_FD, 0, p, l, 0n, 0n, Fstflags.MTIM | Fstflags.MTIM_NOW)).toBe(
      Errno.INVAL,
    );
    expect(g.call("path_filestat_set_times", ROOT_FD, 0, p, l, 0n, 0n, Fstflags.ATIM | Fstflags.ATIM_NOW)).toBe(
      Errno.INVAL,
    );
    expect(g.call("path_filestat_set_times", ROOT_FD, 0, p, l, 0n, 0n, 0x10)).toBe(Errno.INVAL);
    // Would never return had the call above left the preopen's lock held.
    expect(g.call("path_filestat_get", ROOT_FD, 0, p, l, g.alloc(64))).toBe(Errno.SUCCESS);
  });

  it("does not act on a path outside the preopen", () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    writeFileSync(join(outside, "f"), "");
    const mtime = lstatSync(join(outside, "f"), { bigint: true }).mtimeNs;
    const [p, l] = g.put(`../${join(outside, "f").split("/").slice(-2).join("/")}`);
    expect(g.call("path_filestat_set_times", ROOT_FD, 0, p, l, 0n, 1n, Fstflags.MTIM)).not.toBe(Errno.SUCCESS);
    expect(lstatSync(join(outside, "f"), { bigint: true }).mtimeNs).toBe(mtime);
    rmSync(outside, { recursive: true });
  });

  it("truncates readlink into a short buffer (uvwasi: NOBUFS)", () => {
    symlinkSync("target", host("l"));
    const [p, l] = g.put("l");
    const used = g.alloc(4);
    const small = g.alloc(4);
    expect(g.call("path_readlink", ROOT_FD, p, l, small, 4, used)).toBe(Errno.SUCCESS);
    expect([new TextDecoder().decode(g.bytes(small, 4)), g.view.getUint32(used, true)]).toEqual(["targ", 4]);
    const big = g.alloc(10);
    expect(g.call("path_readlink", ROOT_FD, p, l, big, 10, used)).toBe(Errno.SUCCESS);
    expect([...g.bytes(big, 10)]).toEqual([...new TextEncoder().encode("target"), 0, 0, 0, 0]);
  });

  it("says NAMETOOLONG for a preopen name that does not fit (uvwasi: NOBUFS)", () => {
    const buf = g.alloc(4);
    expect(g.call("fd_prestat_dir_name", ROOT_FD, buf, 0)).toBe(Errno.NAMETOOLONG);
    expect(g.call("fd_prestat_dir_name", ROOT_FD, buf, 1)).toBe(Errno.SUCCESS);
    expect(g.bytes(buf, 1)).toEqual(new TextEncoder().encode("/"));
  });

  it("answers sock_shutdown BADF for a closed fd and NOTSOCK for any open one, following close and renumber", () => {
    expect(g.call("sock_shutdown", 1, 2)).toBe(Errno.NOTSOCK);
    expect(g.call("sock_shutdown", ROOT_FD, 2)).toBe(Errno.NOTSOCK);
    expect(g.call("sock_shutdown", 40, 2)).toBe(Errno.BADF);
    const a = g.open(ROOT_FD, "a", { oflags: Oflags.CREAT }).fd;
    const b = g.open(ROOT_FD, "b", { oflags: Oflags.CREAT }).fd;
    expect(g.call("fd_renumber", a, b)).toBe(Errno.SUCCESS);
    expect(g.call("sock_shutdown", a, 2)).toBe(Errno.BADF);
    expect(g.call("sock_shutdown", b, 2)).toBe(Errno.NOTSOCK);
    expect(g.call("fd_close", b)).toBe(Errno.SUCCESS);
    expect(g.call("sock_shutdown", b, 2)).toBe(Errno.BADF);
  });

  it("calls a regular file or /dev/null ready to poll at once (uvwasi: PERM, from epoll)", () => {
    const devNull = openSync("/dev/null", "r");
    try {
      const guest = new Guest(root, { stdin: devNull });
      expect(guest.poll([[0, 1]], 10_000_000_000n)).toEqual({ rc: Errno.SUCCESS, events: [[100n, 1, 0]] });
      writeFileSync(host("f"), "data");
      const { fd } = guest.open(ROOT_FD, "f");
      expect(
        guest.poll(
          [
            [fd, 1],
            [fd, 2],
          ],
          10_000_000_000n,
        ),
      ).toEqual({
        rc: Errno.SUCCESS,
        events: [
          [100n, 1, 0],
          [101n, 2, 0],
        ],
      });
      // The 10 s clocks above did not fire; anything else is uvwasi's answer: a clock alone still fires.
      expect(guest.poll([], 1_000_000n)).toEqual({ rc: Errno.SUCCESS, events: [[1n, 0, 0]] });
    } finally {
      closeSync(devNull);
    }
  });

  it("keeps what it knows of a directory fd across fd_renumber", () => {
    mkdirSync(host("d"));
    writeFileSync(host("d/x"), "");
    const { fd } = g.open(ROOT_FD, "d", { oflags: Oflags.DIRECTORY });
    const other = g.open(ROOT_FD, "y", { oflags: Oflags.CREAT }).fd;
    expect(g.call("fd_renumber", fd, other)).toBe(Errno.SUCCESS);
    expect(g.readdir(other, 0n, 4096).entries.map((e) => e.name)).toEqual([".", "..", "x"]);
  });

  it("leaves a directory fd whose path now names another directory to uvwasi", () => {
    mkdirSync(host("d"));
    const { fd } = g.open(ROOT_FD, "d", { oflags: Oflags.DIRECTORY });
    rmSync(host("d"), { recursive: true });
    mkdirSync(host("d"));
    writeFileSync(host("d/new"), "");
    unlinkSync(host("d/new"));
    // uvwasi lists by path too, without . and ..: the layer adds nothing it cannot vouch for.
    expect(g.readdir(fd, 0n, 4096).entries.map((e) => e.name)).toEqual([]);
  });
});
