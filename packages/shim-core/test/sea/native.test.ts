import { spawn, spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { native, UTIME_NOW, UTIME_OMIT } from "../../src/sea/native.ts";

const node = process.execPath;
const nativeModule = new URL("../../src/sea/native.ts", import.meta.url).pathname;

describe("the native helper", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "native-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sets a file's times to the nanosecond, or leaves one alone", () => {
    const file = join(dir, "f");
    writeFileSync(file, "x");
    native().utimensat(file, 1_700_000_000_123_456_789n, 1_600_000_000_987_654_321n);
    let st = lstatSync(file, { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_700_000_000_123_456_789n, 1_600_000_000_987_654_321n]);
    native().utimensat(file, UTIME_OMIT, 1_500_000_000_000_000_001n);
    st = lstatSync(file, { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_700_000_000_123_456_789n, 1_500_000_000_000_000_001n]);
    const before = BigInt(Date.now()) * 1_000_000n - 1_000_000_000n;
    native().utimensat(file, UTIME_NOW, UTIME_OMIT);
    expect(lstatSync(file, { bigint: true }).atimeNs).toBeGreaterThan(before);
  });

  it("sets a symlink's own times with nofollow, and its target's without", () => {
    const target = join(dir, "target");
    const link = join(dir, "link");
    writeFileSync(target, "x");
    symlinkSync("target", link);
    native().utimensat(target, 1_000_000_000_000_000_000n, 1_000_000_000_000_000_000n);
    native().utimensat(link, 1_100_000_000_000_000_007n, 1_100_000_000_000_000_007n, { nofollow: true });
    expect(lstatSync(link, { bigint: true }).mtimeNs).toBe(1_100_000_000_000_000_007n);
    expect(lstatSync(target, { bigint: true }).mtimeNs).toBe(1_000_000_000_000_000_000n);
    native().utimensat(link, UTIME_OMIT, 1_200_000_000_000_000_009n);
    expect(lstatSync(target, { bigint: true }).mtimeNs).toBe(1_200_000_000_000_000_009n);
  });

  it("reports the system's error as a code, and refuses arguments it cannot use", () => {
    expect(() => native().utimensat(join(dir, "missing"), UTIME_NOW, UTIME_NOW)).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    expect(() => native().utimensat(join(dir, "f"), -5n, UTIME_NOW)).toThrow(TypeError);
    expect(() => native().utimensat(join(dir, "f"), 1 as unknown as bigint, UTIME_NOW)).toThrow(TypeError);
  });

  it("asks glibc to hand back the memory malloc keeps (whether any went depends on the heap)", () => {
    expect(typeof native().mallocTrim()).toBe("boolean");
  });

  it("sets V8's flags without node:v8, as node:v8 would", () => {
    const script = `
      const { native } = await import(${JSON.stringify(nativeModule)});
      const { runInNewContext } = await import("node:vm");
      const before = runInNewContext("typeof gc");
      const set = native().setV8Flags("--expose-gc");
      const after = runInNewContext("typeof gc");
      native().setV8Flags("--no-expose-gc");
      const v8 = process.moduleLoadList.includes("NativeModule v8");
      process.stdout.write(JSON.stringify({ before, set, after, v8 }));`;
    const res = spawnSync(node, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(res.stdout)).toEqual({ before: "undefined", set: true, after: "function", v8: false });
  });

  // The reason it exists: process.exit() joins worker threads, and one blocked in read(2) never
  // returns. A worker reading a pipe nobody writes stands for a guest waiting on stdin.
  it("ends the process at once with the code, even while a worker is blocked in a system call", () => {
    const script = join(dir, "exit.mts");
    writeFileSync(
      script,
      `import { Worker } from "node:worker_threads";
      import { native } from ${JSON.stringify(nativeModule)};
      const w = new Worker("require('node:fs').readSync(0, Buffer.alloc(1))", { eval: true });
      w.on("online", () => setTimeout(() => native().exit(42), 200));`,
    );
    // stdin is a pipe this test never writes to nor closes while the child runs.
    const r = spawnSync(node, ["--no-warnings", script], { stdio: ["pipe", "pipe", "pipe"], timeout: 20_000 });
    expect(r.signal, "still running after 20 s").toBeNull();
    expect(r.status, r.stderr.toString()).toBe(42);
  });

  // The runner's guest runs on its main thread: a JS handler would wait for the blocked read.
  it("exits with 128+signal on a signal while the main thread is blocked in a system call", async () => {
    const script = join(dir, "signals.mts");
    writeFileSync(
      script,
      `import { readSync, writeSync } from "node:fs";
      import { native } from ${JSON.stringify(nativeModule)};
      native().exitOnSignals([15, 10]);
      writeSync(1, "ready\\n");
      readSync(0, Buffer.alloc(1));`,
    );
    // stdin is a pipe this test never writes to; Node's own SIGUSR1 handler (the inspector) is replaced too.
    const child = spawn(node, ["--no-warnings", script], { stdio: ["pipe", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGUSR1");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    expect(await exited).toBe(138);
    clearTimeout(timer);
    expect(() => native().exitOnSignals([0])).toThrow(TypeError);
  });
});
