import { describe, expect, it } from "vitest";
import { hostRuntime, elfInterpreter } from "../../src/oci/host-libs.ts";
import { CPU_QUOTA_ENV, RUNNER_DIR, GUEST_HAS_NO_HOME, GUEST_NODE_OPTIONS, runnerSpec } from "../../src/oci/runner-spec.ts";
import type { Spec } from "../../src/oci/spec.ts";

const host = { binary: "/opt/shim", loader: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", libDirs: ["/lib/x86_64-linux-gnu", "/usr/local/lib"] };
const spec: Spec = {
  process: { args: ["/app.wasm", "a b"], env: ["PATH=/", "NODE_OPTIONS=--guest"], cwd: "/work", user: { uid: 1000, gid: 1000 } },
  root: { path: "rootfs", readonly: true },
  mounts: [{ destination: "/data", type: "bind", source: "/host/data", options: ["rbind", "rw"] }],
  linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/proc/1/ns/net" }], cgroupsPath: "/default/c1" },
  annotations: { a: "b" },
};

describe("runnerSpec", () => {
  const out = runnerSpec(spec, "/bundle/rootfs", host, "/app.wasm");

  it("runs the runner through the host loader, keeping the guest's argv intact", () => {
    expect(out.process?.args).toEqual([`${RUNNER_DIR}/lib0/ld-linux-x86-64.so.2`, "--library-path", `${RUNNER_DIR}/lib0:${RUNNER_DIR}/lib1`, `${RUNNER_DIR}/runner`, "--run-wasm", "/app.wasm", "{}", "--", "/app.wasm", "a b"]);
  });

  it("mounts the binary and each library dir read-only, after the user's mounts", () => {
    expect(out.mounts?.[0]).toEqual(spec.mounts?.[0]);
    expect(out.mounts?.slice(1)).toEqual([
      { destination: `${RUNNER_DIR}/lib0`, type: "bind", source: "/lib/x86_64-linux-gnu", options: ["rbind", "ro", "nosuid", "nodev"] },
      { destination: `${RUNNER_DIR}/lib1`, type: "bind", source: "/usr/local/lib", options: ["rbind", "ro", "nosuid", "nodev"] },
      { destination: `${RUNNER_DIR}/runner`, type: "bind", source: "/opt/shim", options: ["bind", "ro", "nosuid", "nodev"] },
    ]);
  });

  it("keeps namespaces, cgroups, user, cwd and annotations; points root at the mounted rootfs", () => {
    expect(out.linux).toEqual(spec.linux);
    expect(out.annotations).toEqual(spec.annotations);
    expect(out.process?.user).toEqual({ uid: 1000, gid: 1000 });
    expect(out.process?.cwd).toBe("/work");
    expect(out.root).toEqual({ path: "/bundle/rootfs", readonly: true });
  });

  it("hides the guest's NODE_OPTIONS from the runner's own Node", () => {
    expect(out.process?.env).toEqual(["PATH=/", `${GUEST_NODE_OPTIONS}=--guest`, `${GUEST_HAS_NO_HOME}=1`]);
  });

  it("marks a guest env without HOME, since runc adds one", () => {
    const withHome = runnerSpec({ ...spec, process: { ...spec.process!, env: ["HOME=/root"] } }, "/r", host, "/app.wasm");
    expect(withHome.process?.env).toEqual(["HOME=/root"]);
  });

  it("mounts the host's extracted assets and points the runner at them", () => {
    const out = runnerSpec(spec, "/r", host, "/app.wasm", {}, "/run/containerd-shim-assets/shim-abc");
    expect(out.mounts?.at(-1)).toEqual({ destination: `${RUNNER_DIR}/assets/shim-abc`, type: "bind", source: "/run/containerd-shim-assets/shim-abc", options: ["rbind", "ro", "nosuid", "nodev"] });
    expect(out.process?.env).toContain(`WASM_SHIM_ASSET_DIR=${RUNNER_DIR}/assets`);
  });

  it("tells the runner the container's CPU quota (the guest's env does not get it)", () => {
    const limited = runnerSpec({ ...spec, linux: { ...spec.linux, resources: { cpu: { quota: 150_000, period: 100_000 } } } }, "/bundle/rootfs", host, "/app.wasm");
    expect(limited.process?.env).toContain(`${CPU_QUOTA_ENV}=1.5`);
    expect(out.process?.env?.some((e) => e.startsWith(`${CPU_QUOTA_ENV}=`))).toBe(false);
  });

  it("does not modify its input", () => {
    expect(spec.process?.args).toEqual(["/app.wasm", "a b"]);
    expect(spec.mounts).toHaveLength(1);
  });
});

describe("hostRuntime", () => {
  it("finds this Node's loader and the directories of its libraries", () => {
    const rt = hostRuntime(process.execPath);
    expect(elfInterpreter(process.execPath)).toMatch(/ld-linux.*\.so/);
    expect(rt.loader.startsWith(rt.libDirs[0] + "/")).toBe(true);
    expect(rt.libDirs.length).toBeGreaterThan(0);
  });
});
