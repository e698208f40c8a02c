import { describe, expect, it } from "vitest";
import { checkProcess, checkSpec, knownFilesystems, MAX_ARG_STRLEN } from "../../src/oci/validate-spec.ts";

const proc = (over: Record<string, unknown> = {}) => ({ args: ["/app.wasm"], env: ["PATH=/bin"], cwd: "/", ...over });
const spec = (over: Record<string, unknown> = {}) => ({
  ociVersion: "1.0.2",
  process: proc(),
  root: { path: "rootfs" },
  mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
  ...over,
});

describe("checkSpec", () => {
  it("accepts a spec as runc spec writes it", () => {
    expect(checkSpec(spec(), "config.json")).toMatchObject({ process: { args: ["/app.wasm"] } });
  });

  it("says what a config.json holds when it is JSON but no spec", () => {
    for (const [value, what] of [
      [null, "null"],
      [[], "a list"],
      ["spec", "a string"],
      [42, "a number"],
      [true, "a boolean"],
    ] as const) {
      expect(() => checkSpec(value, "/b/config.json")).toThrow(
        `/b/config.json is not an OCI runtime spec: it holds ${what}, not an object: invalid argument`,
      );
    }
    expect(() => checkSpec({}, "/b/config.json")).toThrow(/has no process to run/);
    expect(() => checkSpec(spec({ process: "sh" }), "c")).toThrow(/c: process must be an object, not a string/);
    expect(() => checkSpec(spec({ root: { path: 5 } }), "c")).toThrow(/root must be an object with a path/);
    expect(() => checkSpec(spec({ annotations: "x" }), "c")).toThrow(/annotations must be an object/);
  });

  it("refuses mounts runc could not make, naming the mount", () => {
    expect(() => checkSpec(spec({ mounts: { destination: "/x" } }), "c")).toThrow(
      /c: mounts must be a list, not an object/,
    );
    expect(() => checkSpec(spec({ mounts: [{ destination: "/x", type: "frobfs" }] }), "c")).toThrow(
      `c: mounts[0] (/x): this kernel has no filesystem type "frobfs"`,
    );
    expect(() => checkSpec(spec({ mounts: [{ destination: "/x", type: "x".repeat(10_000) }] }), "c")).toThrow(
      /this kernel has no filesystem type "x{64}"/,
    );
    expect(() => checkSpec(spec({ mounts: [{ destination: "/x", type: 7 }] }), "c")).toThrow(
      /type must be a string, not a number/,
    );
    expect(() => checkSpec(spec({ mounts: [{ type: "tmpfs" }] }), "c")).toThrow(
      /mounts\[0\].destination must be a path/,
    );
    expect(() => checkSpec(spec({ mounts: [{ destination: "/x", options: "ro" }] }), "c")).toThrow(
      /options must be a list of strings/,
    );
  });

  it("knows the kernel's filesystems and the bind pseudo-type", () => {
    for (const type of ["proc", "tmpfs", "sysfs", "bind", "overlay"])
      expect(knownFilesystems().has(type), type).toBe(true);
  });
});

describe("checkProcess", () => {
  it("refuses a process with no args, and args or env of the wrong shape", () => {
    expect(() => checkProcess(proc({ args: [] }))).toThrow(
      /process.args is empty: the image sets no entrypoint or command/,
    );
    expect(() => checkProcess(proc({ args: undefined }))).toThrow(/process.args is empty/);
    expect(() => checkProcess(proc({ args: "sh -c x" }))).toThrow(
      /process.args must be a list of strings, not a string/,
    );
    expect(() => checkProcess(proc({ args: ["/a", 5] }))).toThrow(/process.args\[1\] must be a string, not a number/);
    expect(() => checkProcess(proc({ env: { A: "b" } }))).toThrow(
      /process.env must be a list of strings, not an object/,
    );
  });

  it("refuses env entries runc refuses, and NUL bytes execve cannot pass", () => {
    expect(() => checkProcess(proc({ env: ["NOEQUALS"] }))).toThrow(/env\[0\] "NOEQUALS" is not NAME=value/);
    expect(() => checkProcess(proc({ env: ["=empty"] }))).toThrow(/is not NAME=value/);
    expect(() => checkProcess(proc({ args: ["/a", "b\0c"] }))).toThrow(/args\[1\] contains a NUL byte/);
  });

  it("refuses a relative or missing cwd (runc creates a missing directory, not a relative one)", () => {
    expect(() => checkProcess(proc({ cwd: "rel" }))).toThrow(/process.cwd must be an absolute path, not "rel"/);
    expect(() => checkProcess(proc({ cwd: undefined }))).toThrow(/process.cwd must be an absolute path, not nothing/);
    expect(checkProcess(proc({ cwd: "/does/not/exist" })).cwd).toBe("/does/not/exist");
  });

  it("refuses argv and env larger than execve takes, counting bytes, not characters", () => {
    expect(() => checkProcess(proc({ args: ["/a", "x".repeat(MAX_ARG_STRLEN)] }))).toThrow(
      /args\[1\] is 131072 bytes long; the kernel passes at most 131071/,
    );
    expect(() => checkProcess(proc({ env: [`A=${"é".repeat(MAX_ARG_STRLEN / 2)}`] }))).toThrow(
      /env\[0\] is 131074 bytes long/,
    );
    checkProcess(proc({ args: ["/a", "x".repeat(MAX_ARG_STRLEN - 1)] }));
    const many = Array.from({ length: 20 }, () => "x".repeat(120_000));
    expect(() => checkProcess(proc({ args: ["/a", ...many] }))).toThrow(
      /process.args and .env take \d+ bytes; execve allows at most 2097152/,
    );
    // A larger stack limit gives more room, as it does to execve.
    checkProcess(proc({ args: ["/a", ...many], rlimits: [{ type: "RLIMIT_STACK", soft: 16 << 20, hard: 16 << 20 }] }));
  });
});
