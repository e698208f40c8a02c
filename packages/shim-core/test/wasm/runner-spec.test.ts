import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostRuntime, elfInterpreter, listedLibraries } from "../../src/wasm/host-libs.ts";
import { native } from "../../src/sea/native.ts";
import { HUGE_PAGE_MODULE_BYTES, runnerSpec } from "../../src/wasm/runner-spec.ts";
import type { Spec } from "../../src/oci/spec.ts";
import { guestEnvironment } from "../../src/wasm/runner-boot.ts";
import {
  CPU_QUOTA_ENV,
  GUEST_ENV_PREFIX,
  RUNNER_ENV,
  runnerLayout,
  runnerLayoutFromEnv,
} from "../../src/wasm/runner-layout.ts";

const spec: Spec = {
  process: {
    args: ["/app.wasm", "a b"],
    env: ["PATH=/", "NODE_OPTIONS=--guest", "LD_PRELOAD=/evil.so"],
    cwd: "/work",
    user: { uid: 1000, gid: 1000 },
  },
  root: { path: "rootfs", readonly: true },
  mounts: [{ destination: "/data", type: "bind", source: "/host/data", options: ["rbind", "rw"] }],
  linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/proc/1/ns/net" }], cgroupsPath: "/default/c1" },
  annotations: { a: "b" },
};

describe("runnerLayout", () => {
  it("numbers the loader, the binary, each library, then assets and each prepared file from fd 3", () => {
    expect(runnerLayout(2, true, ["a.mjs", "b.wasm"])).toEqual({
      count: 7,
      loader: 3,
      binary: 4,
      libs: [5, 6],
      assets: 7,
      files: { "a.mjs": 8, "b.wasm": 9 },
    });
    expect(runnerLayout(1, false)).toEqual({ count: 3, loader: 3, binary: 4, libs: [5] });
    expect(runnerLayout(1, true, ["m.wasm"], true)).toEqual({
      count: 6,
      loader: 3,
      binary: 4,
      libs: [5],
      assets: 6,
      native: 7,
      files: { "m.wasm": 8 },
    });
  });

  it("is read back from the environment, and a layout naming fds it does not pass is refused", () => {
    const layout = runnerLayout(1, true);
    expect(runnerLayoutFromEnv({ [RUNNER_ENV]: JSON.stringify(layout) })).toEqual(layout);
    expect(runnerLayoutFromEnv({})).toBeUndefined();
    expect(() => runnerLayoutFromEnv({ [RUNNER_ENV]: JSON.stringify({ ...layout, assets: 9 }) })).toThrow(/bad layout/);
    expect(() => runnerLayoutFromEnv({ [RUNNER_ENV]: JSON.stringify({ ...layout, files: { x: 2 } }) })).toThrow(
      /bad layout/,
    );
    expect(() => runnerLayoutFromEnv({ [RUNNER_ENV]: JSON.stringify({ ...layout, native: 7 }) })).toThrow(/bad layout/);
  });
});

describe("runnerSpec", () => {
  const layout = runnerLayout(2, true);
  const out = runnerSpec(spec, "/bundle/rootfs", layout, "/app.wasm");

  it("runs the loader from fd 3, preloading each library by fd, and the runner from its fd, keeping the guest's argv", () => {
    expect(out.process?.args).toEqual([
      "/proc/self/fd/3",
      "--inhibit-cache",
      "--preload",
      "/proc/self/fd/5 /proc/self/fd/6",
      "/proc/self/fd/4",
      "--run-wasm",
      "/app.wasm",
      "{}",
      "--",
      "/app.wasm",
      "a b",
    ]);
  });

  it("mounts nothing for the runner: the user's mounts are the only ones", () => {
    expect(out.mounts).toEqual(spec.mounts);
  });

  it("keeps namespaces, cgroups, user, cwd and annotations; points root at the mounted rootfs", () => {
    expect(out.linux).toEqual(spec.linux);
    expect(out.annotations).toEqual(spec.annotations);
    expect(out.process?.user).toEqual({ uid: 1000, gid: 1000 });
    expect(out.process?.cwd).toBe("/work");
    expect(out.root).toEqual({ path: "/bundle/rootfs", readonly: true });
  });

  it("renames the guest's env so the loader and Node ignore it, and tells the runner its layout", () => {
    expect(out.process?.env).toEqual([
      `${GUEST_ENV_PREFIX}PATH=/`,
      `${GUEST_ENV_PREFIX}NODE_OPTIONS=--guest`,
      `${GUEST_ENV_PREFIX}LD_PRELOAD=/evil.so`,
      `${RUNNER_ENV}=${JSON.stringify(layout)}`,
    ]);
  });

  it("asks glibc for huge pages for a large module's runner only, never with the guest's tunables", () => {
    const guest: Spec = { ...spec, process: { cwd: "/work", env: ["GLIBC_TUNABLES=glibc.malloc.check=3"] } };
    const env = (bytes: number) => runnerSpec(guest, "/bundle/rootfs", layout, "/app.wasm", {}, bytes).process?.env;
    expect(env(HUGE_PAGE_MODULE_BYTES - 1)).toEqual([
      `${GUEST_ENV_PREFIX}GLIBC_TUNABLES=glibc.malloc.check=3`,
      `${RUNNER_ENV}=${JSON.stringify(layout)}`,
    ]);
    expect(env(HUGE_PAGE_MODULE_BYTES)).toEqual([
      `${GUEST_ENV_PREFIX}GLIBC_TUNABLES=glibc.malloc.check=3`,
      `${RUNNER_ENV}=${JSON.stringify(layout)}`,
      "GLIBC_TUNABLES=glibc.malloc.hugetlb=1",
    ]);
  });

  it("gives the guest back exactly its env, without what runc added (HOME) or the runner's own", () => {
    const env = Object.fromEntries(
      out.process!.env!.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    expect(guestEnvironment({ ...env, HOME: "/root" })).toEqual({
      PATH: "/",
      NODE_OPTIONS: "--guest",
      LD_PRELOAD: "/evil.so",
    });
    // Outside a container (no layout), the process's env is the guest's.
    expect(guestEnvironment({ A: "1" })).toEqual({ A: "1" });
  });

  it("tells the runner the container's CPU quota, unprefixed so that the guest's env does not get it", () => {
    const limited = runnerSpec(
      { ...spec, linux: { ...spec.linux, resources: { cpu: { quota: 150_000, period: 100_000 } } } },
      "/bundle/rootfs",
      layout,
      "/app.wasm",
    );
    expect(limited.process?.env).toContain(`${CPU_QUOTA_ENV}=1.5`);
    const env = Object.fromEntries(
      limited.process!.env!.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    expect(guestEnvironment(env)).toEqual({ PATH: "/", NODE_OPTIONS: "--guest", LD_PRELOAD: "/evil.so" });
    expect(out.process?.env?.some((e) => e.startsWith(`${CPU_QUOTA_ENV}=`))).toBe(false);
  });

  it("does not modify its input", () => {
    expect(spec.process?.args).toEqual(["/app.wasm", "a b"]);
    expect(spec.mounts).toHaveLength(1);
  });
});

describe("hostRuntime", () => {
  it("finds this Node's loader and exactly the library files it maps, not directories", async () => {
    const rt = await hostRuntime(process.execPath);
    expect(elfInterpreter(process.execPath)).toMatch(/ld-linux.*\.so/);
    expect(rt.binary).toBe(realpathSync(process.execPath));
    expect(rt.libs.length).toBeGreaterThan(0);
    expect(rt.libs).not.toContain(rt.loader);
    const listing = execFileSync(rt.loader, ["--list", process.execPath], { encoding: "utf8" });
    for (const lib of rt.libs) expect(listing).toContain(lib.split("/").at(-1)!.split(".so")[0]);
    expect(rt.libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    // One listing per binary: a second ask is the same answer, not a second child process.
    expect(hostRuntime(process.execPath)).toBe(hostRuntime(process.execPath));
  });

  it("takes the running executable's libraries from what its loader mapped: the files ld.so --list names, in its order", async () => {
    const loader = realpathSync(elfInterpreter(process.execPath)!);
    const listed = listedLibraries(execFileSync(loader, ["--list", process.execPath], { encoding: "utf8" }), loader);
    const mapped = native().loadedLibraries();
    expect(mapped).toContain(elfInterpreter(process.execPath));
    expect(mapped.map((p) => realpathSync(p)).filter((p) => p !== loader)).toEqual(listed);
    expect((await hostRuntime(process.execPath)).libs).toEqual(listed);
  });

  it("rejects a binary the loader cannot list, and lists it once it can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "host-libs-"));
    const binary = join(dir, "sh");
    try {
      await expect(hostRuntime(binary)).rejects.toThrow(/ENOENT/);
      // A failure is not kept: the next Create asks again.
      copyFileSync("/bin/sh", binary);
      const rt = await hostRuntime(binary);
      expect(rt.binary).toBe(binary);
      expect(rt.libs.some((l) => /\/libc\.so\.6$/.test(l))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a listing with a library the loader cannot find", () => {
    expect(() =>
      listedLibraries(
        "\tlibfoo.so.1 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n",
        "/lib64/ld.so",
      ),
    ).toThrow(/cannot find libfoo\.so\.1/);
  });
});
