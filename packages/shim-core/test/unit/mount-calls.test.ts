import { describe, expect, it } from "vitest";
import { mountCalls } from "../../src/oci/host-mounter.ts";

describe("containerd's mount options as mount(2) calls, as mount(8) makes them", () => {
  it("binds, recursively for rbind, and remounts read-only for ro", () => {
    expect(mountCalls({ type: "bind", source: "/s", options: ["rbind", "ro"] })).toEqual([
      { source: "/s", fstype: null, flags: 4096 | 16384, data: null },
      { source: null, fstype: null, flags: 32 | 4096 | 1, data: null },
    ]);
    expect(mountCalls({ type: "none", source: "/s", options: ["bind", "nosuid"] })).toEqual([
      { source: "/s", fstype: null, flags: 4096, data: null },
    ]);
  });

  it("turns an overlay's flag options into flags, in order, and the rest into data", () => {
    const [call, ...rest] = mountCalls({
      type: "overlay",
      source: "overlay",
      options: ["ro", "nodev", "rw", "index=off", "workdir=/w", "upperdir=/u", "lowerdir=/a:/b", "noatime"],
    })!;
    expect(call).toEqual({
      source: "overlay",
      fstype: "overlay",
      flags: 4 | 1024,
      data: "index=off,workdir=/w,upperdir=/u,lowerdir=/a:/b",
    });
    expect(rest).toEqual([]);
  });

  it("changes propagation in calls of their own, after the mount", () => {
    expect(mountCalls({ type: "overlay", source: "overlay", options: ["lowerdir=/a", "rprivate"] })).toEqual([
      { source: "overlay", fstype: "overlay", flags: 0, data: "lowerdir=/a" },
      { source: null, fstype: null, flags: (1 << 18) | 16384, data: null },
    ]);
  });

  it("leaves to mount(8) what needs more than a page of data", () => {
    const lower = Array.from({ length: 200 }, (_, i) => `/var/lib/containerd/snapshots/${i}/fs`).join(":");
    expect(mountCalls({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`] })).toBeUndefined();
  });
});
