import { describe, expect, it } from "vitest";
import { parseHttpConfig, parseListen } from "../src/http/config.ts";
import { cgroupCpuQuota, usableCpus } from "../src/http/cpus.ts";
import { componentExports, isHttpHandler } from "../src/http/exports.ts";
import { buildComponents } from "./components.ts";

describe("HTTP configuration from the container's env", () => {
  it("defaults to 0.0.0.0:8080, a fresh instance per request, one thread per CPU", () => {
    expect(parseHttpConfig({})).toEqual({
      host: "0.0.0.0",
      port: 8080,
      reuse: false,
      workers: undefined,
      pool: 2,
      concurrency: 16,
      drainMs: 25_000,
    });
  });

  it("reads WASI_HTTP_LISTEN, else the names wasmtime's and Spin's shims read", () => {
    expect(parseHttpConfig({ WASI_HTTP_LISTEN: "127.0.0.1:9000", SPIN_HTTP_LISTEN_ADDR: "0.0.0.0:80" })).toMatchObject({
      host: "127.0.0.1",
      port: 9000,
    });
    expect(parseHttpConfig({ WASMTIME_HTTP_PROXY_SOCKET_ADDR: "[::1]:8081" })).toMatchObject({
      host: "::1",
      port: 8081,
    });
    expect(parseHttpConfig({ SPIN_HTTP_LISTEN_ADDR: "0.0.0.0:80" })).toMatchObject({ host: "0.0.0.0", port: 80 });
    expect(parseListen("3000")).toEqual({ host: "0.0.0.0", port: 3000 });
  });

  it("takes the opt-ins and limits", () => {
    const config = parseHttpConfig({
      WASI_HTTP_INSTANCE_REUSE: "true",
      WASI_HTTP_WORKERS: "3",
      WASI_HTTP_POOL: "0",
      WASI_HTTP_MAX_CONCURRENCY: "8",
      WASI_HTTP_DRAIN_TIMEOUT: "2.5",
    });
    expect(config).toMatchObject({ reuse: true, workers: 3, pool: 0, concurrency: 8, drainMs: 2500 });
    expect(parseHttpConfig({ WASI_HTTP_INSTANCE_REUSE: "0" }).reuse).toBe(false);
  });

  it("names the variable when a value cannot be meant", () => {
    expect(() => parseHttpConfig({ WASI_HTTP_LISTEN: "localhost:http" })).toThrow(
      /WASI_HTTP_LISTEN=localhost:http: expected HOST:PORT or PORT/,
    );
    expect(() => parseHttpConfig({ SPIN_HTTP_LISTEN_ADDR: "99999" })).toThrow(/SPIN_HTTP_LISTEN_ADDR=99999/);
    expect(() => parseHttpConfig({ WASI_HTTP_INSTANCE_REUSE: "sometimes" })).toThrow(
      /WASI_HTTP_INSTANCE_REUSE=sometimes: expected true or false/,
    );
    expect(() => parseHttpConfig({ WASI_HTTP_WORKERS: "0" })).toThrow(
      /WASI_HTTP_WORKERS=0: expected a whole number from 1 to 256/,
    );
    expect(() => parseHttpConfig({ WASI_HTTP_DRAIN_TIMEOUT: "soon" })).toThrow(/WASI_HTTP_DRAIN_TIMEOUT=soon/);
  });
});

describe("CPUs a container may use", () => {
  const files = (map: Record<string, string>) => (path: string) => map[path];

  it("reads a cgroup v2 quota, in the process's own cgroup or at the mount's root", () => {
    expect(cgroupCpuQuota(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "150000 100000\n" }))).toBe(
      1.5,
    );
    expect(
      cgroupCpuQuota(
        files({
          "/proc/self/cgroup": "0::/k8s/pod1\n",
          "/sys/fs/cgroup/k8s/pod1/cpu.max": "50000 100000\n",
          "/sys/fs/cgroup/cpu.max": "max 100000\n",
        }),
      ),
    ).toBe(0.5);
    expect(
      cgroupCpuQuota(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "max 100000\n" })),
    ).toBeUndefined();
  });

  it("reads a cgroup v1 CFS quota (-1 is none)", () => {
    const v1 = (quota: string) =>
      files({
        "/proc/self/cgroup": "4:cpu,cpuacct:/default/c1\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": quota,
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
      });
    expect(cgroupCpuQuota(v1("200000\n"))).toBe(2);
    expect(cgroupCpuQuota(v1("-1\n"))).toBeUndefined();
  });

  it("takes the cpuset's count, capped by the quota rounded up, at least 1", () => {
    const quota = (q: string) => files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": q });
    expect(usableCpus(undefined, quota("max 100000"), 8)).toBe(8);
    expect(usableCpus(undefined, quota("150000 100000"), 8)).toBe(2);
    expect(usableCpus(undefined, quota("400000 100000"), 2)).toBe(2);
    expect(usableCpus(undefined, quota("1000 100000"), 4)).toBe(1);
    expect(usableCpus(undefined, files({}), 3)).toBe(3);
    // The spec's quota (passed on by the runner) wins over what the cgroup shows.
    expect(usableCpus(1, quota("max 100000"), 8)).toBe(1);
  });
});

describe("a component's exports, read from its binary", () => {
  it("tells a wasi:http handler from a command", async () => {
    const { hello, http } = await buildComponents();
    expect(componentExports(http)).toEqual(["wasi:http/incoming-handler@0.2.12"]);
    expect(isHttpHandler(http)).toBe(true);
    expect(componentExports(hello)).toContain("wasi:cli/run@0.2.12");
    expect(isHttpHandler(hello)).toBe(false);
    expect(isHttpHandler(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 11, 200]))).toBe(false);
  });
});
