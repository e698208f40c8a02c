/**
 * What the shim mounts on the host for a Create's rootfs. Each refused case is one the fuzzer (or
 * reading the code) showed the shim would otherwise have run `mount` for: a loop device from an
 * ext4 image, a remount, an argument taken as a mount(8) flag, a target outside the rootfs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRootfsMounts, mountPoint } from "../../src/oci/mount-policy.ts";
import { hostMounter } from "../../src/oci/host-mounter.ts";
import { commandMounter, isMountPoint, mountRootfs, unmountAll, type RootfsMount } from "../../src/oci/mount.ts";
import { readMounts } from "@wasm-shims/test-lab/procfs.ts";

let dir: string;
let layer: string;
const bind = (over: Partial<RootfsMount> = {}): RootfsMount => ({
  type: "bind",
  source: layer,
  options: ["rbind", "ro"],
  ...over,
});
const overlay = (options: string[]): RootfsMount => ({ type: "overlay", source: "overlay", options });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "mount-policy-"));
  layer = join(dir, "layer");
  for (const d of ["layer/bin", "upper", "work", "outside", "rootfs"]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, "layer/bin/file"), "");
  writeFileSync(join(dir, "image.ext4"), "");
  // An image can carry a symlink that a later mount's target would follow out of the rootfs.
  symlinkSync(join(dir, "outside"), join(dir, "layer/escape"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("checkRootfsMounts", () => {
  it("accepts what containerd's native and overlay snapshotters produce", async () => {
    await checkRootfsMounts([bind()]);
    await checkRootfsMounts([
      overlay(["index=off", `workdir=${dir}/work`, `upperdir=${dir}/upper`, `lowerdir=${layer}:${dir}/outside`]),
    ]);
    await checkRootfsMounts([overlay(["ro", `lowerdir=${layer}`, "userxattr", "volatile"])]);
  });

  it("refuses other filesystem types, naming the mount", async () => {
    for (const type of ["ext4", "tmpfs", "proc", "nfs", "fuse.sshfs", "", "../bind"]) {
      await expect(checkRootfsMounts([bind(), { type, source: `${dir}/image.ext4`, options: [] }])).rejects.toThrow(
        /rootfs mount 1 .*is not supported: the shim mounts only overlay and bind snapshots: invalid argument/,
      );
    }
  });

  it("refuses options that make devices, run helpers, remount or smuggle more options", async () => {
    for (const option of [
      "loop",
      "offset=0",
      "remount",
      "move",
      "X-mount.mkdir",
      "x-systemd.automount",
      "helper=foo",
      "lowerdir=/a,remount",
      "nosuid,loop",
    ]) {
      await expect(checkRootfsMounts([overlay([`lowerdir=${layer}`, option])]), option).rejects.toThrow(
        /option .* is not allowed for a overlay rootfs/,
      );
    }
    await expect(checkRootfsMounts([bind({ options: ["rbind", `lowerdir=${layer}`] })])).rejects.toThrow(
      /not allowed for a bind rootfs/,
    );
  });

  it("refuses sources mount(8) would read as flags, and binds of what is not a directory", async () => {
    await expect(checkRootfsMounts([bind({ source: "--bind" })])).rejects.toThrow(/source "--bind" is not valid/);
    await expect(checkRootfsMounts([overlay([`lowerdir=${layer}`]), { ...overlay([]), source: "-a" }])).rejects.toThrow(
      /source "-a" is not valid/,
    );
    await expect(checkRootfsMounts([bind({ source: "relative" })])).rejects.toThrow(
      /bind source relative is not a directory/,
    );
    await expect(checkRootfsMounts([bind({ source: `${dir}/image.ext4` })])).rejects.toThrow(/is not a directory/);
  });

  it("refuses overlay layers that are not absolute directories", async () => {
    await expect(checkRootfsMounts([overlay(["lowerdir=relative"])])).rejects.toThrow(
      /lowerdir "relative" is not an absolute path/,
    );
    await expect(checkRootfsMounts([overlay([`lowerdir=${layer}:/nonexistent`])])).rejects.toThrow(
      /lowerdir \/nonexistent is not a directory/,
    );
    await expect(checkRootfsMounts([overlay([`upperdir=${dir}/image.ext4`])])).rejects.toThrow(
      /upperdir .* is not a directory/,
    );
  });

  it("refuses an absurd number of mounts", async () => {
    await expect(checkRootfsMounts(Array.from({ length: 65 }, () => bind()))).rejects.toThrow(/65 rootfs mounts/);
  });
});

describe("mountPoint", () => {
  it("keeps targets inside the rootfs and off symlinks", async () => {
    expect(await mountPoint(layer, undefined, "m")).toBe(layer);
    expect(await mountPoint(layer, "/bin/", "m")).toBe(`${layer}/bin`);
    await expect(mountPoint(layer, "../outside", "m")).rejects.toThrow(/leaves the rootfs/);
    await expect(mountPoint(layer, "/bin/../../outside", "m")).rejects.toThrow(/leaves the rootfs/);
    await expect(mountPoint(layer, "escape", "m")).rejects.toThrow(/goes through a symlink/);
    await expect(mountPoint(layer, "escape/sub", "m")).rejects.toThrow(/goes through a symlink/);
    await expect(mountPoint(layer, "bin/file", "m")).rejects.toThrow(/is not a directory/);
    await expect(mountPoint(layer, "nonexistent", "m")).rejects.toThrow(/does not exist/);
  });
});

describe("mountRootfs, as root", () => {
  const rootfs = () => join(dir, "rootfs");
  const mountsUnder = (path: string) => readMounts().filter((m) => m.target.startsWith(path));

  it("binds a layer read-only and a second one on a target inside it", async () => {
    await mountRootfs(
      [bind(), { type: "bind", source: join(dir, "upper"), target: "/bin", options: ["rbind"] }],
      rootfs(),
    );
    try {
      expect(await isMountPoint(rootfs())).toBe(true);
      expect(await isMountPoint(join(rootfs(), "bin"))).toBe(true);
    } finally {
      await unmountAll(join(rootfs(), "bin"));
      await unmountAll(rootfs());
    }
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("mounts nothing, anywhere, for a target that follows the image's symlink out", async () => {
    await expect(
      mountRootfs(
        [bind(), { type: "bind", source: join(dir, "upper"), target: "escape", options: ["rbind"] }],
        rootfs(),
      ),
    ).rejects.toThrow(/rootfs mount 1: target escape goes through a symlink/);
    // The first mount was undone, and nothing landed on the symlink's target.
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("runs no mount at all when any entry is refused", async () => {
    await expect(
      mountRootfs([bind(), { type: "ext4", source: join(dir, "image.ext4"), options: ["loop"] }], rootfs()),
    ).rejects.toThrow(/type "ext4" is not supported/);
    expect(mountsUnder(dir)).toEqual([]);
  });
});

describe.each([
  ["by system call (the daemon's)", hostMounter],
  ["with mount(8) (no native helper, and delete's)", commandMounter],
])("the rootfs mounted %s, as root", (_, m) => {
  const rootfs = () => join(dir, "rootfs");
  const mountsUnder = (path: string) => readMounts().filter((x) => x.target.startsWith(path));
  /** The per-mount options of what is mounted at `target` (mountinfo's sixth field). */
  const mountOptions = (target: string) =>
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .find((line) => line.split(" ")[4] === target)
      ?.split(" ")[5]
      ?.split(",") ?? [];

  it("mounts an overlay with its flags and data: read-only when `ro`, its upper layer otherwise", async () => {
    const layers = [`workdir=${dir}/work`, `upperdir=${dir}/upper`, `lowerdir=${layer}`];
    await m.mount([overlay(["ro", "nosuid", "index=off", `lowerdir=${layer}:${dir}/outside`])], rootfs());
    try {
      expect(mountsUnder(rootfs()).find((x) => x.target === rootfs())?.fstype).toBe("overlay");
      expect(mountOptions(rootfs())).toEqual(expect.arrayContaining(["ro", "nosuid"]));
      expect(() => writeFileSync(join(rootfs(), "new"), "x")).toThrow(/EROFS/);
    } finally {
      await m.unmount(rootfs());
    }
    await m.mount([overlay(["index=off", ...layers])], rootfs());
    try {
      writeFileSync(join(rootfs(), "written"), "x");
      expect(existsSync(join(dir, "upper", "written"))).toBe(true);
    } finally {
      await m.unmount(rootfs());
    }
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("binds read-only when `ro`: writing there is EROFS", async () => {
    await m.mount([bind()], rootfs());
    try {
      expect(() => writeFileSync(join(rootfs(), "bin", "new"), "x")).toThrow(/EROFS/);
    } finally {
      await m.unmount(rootfs());
    }
    expect(mountsUnder(dir)).toEqual([]);
  });

  it("refuses what the kernel refuses with the reason, and leaves nothing mounted", async () => {
    await expect(
      m.mount([bind(), overlay(["index=off", `lowerdir=${layer}`, `upperdir=${dir}/upper`])], rootfs()),
    ).rejects.toThrow(/cannot mount the rootfs: .*overlay/);
    expect(mountsUnder(dir)).toEqual([]);
  });
});
