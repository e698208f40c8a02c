import { constants, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Fdflags, Fstflags } from "../../src/wasm/preview1/abi.ts";
import { FdTable } from "../../src/wasm/preview1/fd-table.ts";
import { wasiFdflags } from "../../src/wasm/preview1/harden.ts";
import { invalidFstflags } from "../../src/wasm/preview1/times.ts";

describe("the preview1 layer's parts", () => {
  it("resolves guest paths under a preopen as uvwasi does, and never out of it", () => {
    const root = mkdtempSync(join(tmpdir(), "fdtable-"));
    mkdirSync(join(root, "d"));
    const fds = new FdTable({ "/": root });
    expect(fds.resolve(3, "a/./b//c")).toBe(join(root, "a/b/c"));
    expect(fds.resolve(3, "a/../b")).toBe(join(root, "b"));
    expect(fds.resolve(3, ".")).toBe(root);
    expect(fds.resolve(3, "d/")).toBe(`${join(root, "d")}/`);
    expect(fds.resolve(3, "..")).toBeUndefined();
    expect(fds.resolve(3, "a/../../b")).toBeUndefined();
    expect(fds.resolve(3, "/etc/passwd")).toBeUndefined();
    expect(fds.resolve(7, "x")).toBeUndefined();
    fds.opened(7, 3, "d", 0);
    expect(fds.resolve(7, "../x")).toBe(join(root, "x"));
    expect(fds.resolve(7, "../../x")).toBeUndefined();
    // The container's root: `..` at the top is outside, not `/` again.
    const top = new FdTable({ "/": "/" });
    expect(top.resolve(3, "etc/passwd")).toBe("/etc/passwd");
    expect(top.resolve(3, "../etc")).toBeUndefined();
    rmSync(root, { recursive: true });
  });

  it("follows fds through open, renumber and close", () => {
    const fds = new FdTable({ "/": "/" }, [10, 11, 12]);
    expect(fds.get(0)?.hostFd).toBe(10);
    expect([fds.has(3), fds.has(4)]).toEqual([true, false]);
    fds.opened(4, 3, "tmp", Fdflags.APPEND);
    expect(fds.get(4)).toMatchObject({ host: "/tmp", root: "/", fdflags: Fdflags.APPEND });
    fds.renumbered(4, 0);
    expect([fds.has(4), fds.get(0)?.host]).toEqual([false, "/tmp"]);
    fds.closed(0);
    expect(fds.has(0)).toBe(false);
    fds.opened(5, 3, undefined, 0);
    expect(fds.get(5)).toEqual({ fdflags: 0 });
  });

  it("turns the host's F_GETFL bits into fdflags", () => {
    expect(wasiFdflags(constants.O_RDWR | 0x8000, 0)).toBe(0);
    expect(wasiFdflags(constants.O_WRONLY | constants.O_APPEND, Fdflags.APPEND)).toBe(Fdflags.APPEND);
    expect(wasiFdflags(constants.O_NONBLOCK, 0)).toBe(Fdflags.NONBLOCK);
    expect(wasiFdflags(constants.O_DSYNC, 0)).toBe(Fdflags.DSYNC);
    expect(wasiFdflags(constants.O_DSYNC, Fdflags.SYNC | Fdflags.APPEND)).toBe(Fdflags.SYNC);
  });

  it("knows the fstflags uvwasi refuses", () => {
    expect(invalidFstflags(Fstflags.ATIM | Fstflags.MTIM_NOW)).toBe(false);
    expect(invalidFstflags(Fstflags.ATIM | Fstflags.ATIM_NOW)).toBe(true);
    expect(invalidFstflags(Fstflags.MTIM | Fstflags.MTIM_NOW)).toBe(true);
    expect(invalidFstflags(0x10)).toBe(true);
  });
});
