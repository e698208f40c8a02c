import { closeSync, openSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixtures, fixtureNames, fixturePath } from "../src/index.ts";
import { watDir } from "../src/paths.ts";
import { runWasi } from "./run-wasi.ts";

let tmp: string;

beforeAll(async () => {
  await buildFixtures();
  tmp = await mkdtemp(join(tmpdir(), "fixtures-test-"));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("build", () => {
  it("is idempotent", async () => {
    const { files, written } = await buildFixtures();
    expect(written).toEqual([]);
    expect(files).toHaveLength(fixtureNames.length + 2);
  });

  it("refuses a wat/ that disagrees with fixtureNames", async () => {
    const wat = join(tmp, "wat");
    await cp(watDir, wat, { recursive: true });
    await writeFile(join(wat, "extra.wat"), "(module)");
    await rm(join(wat, "hello.wat"));
    await expect(buildFixtures({ wat, wasm: join(tmp, "wasm") })).rejects.toThrow(
      "unlisted [extra.wat], missing [hello]",
    );
  });

  it.each(fixtureNames)("%s is a WASI preview1 command", async (name) => {
    const mod = new WebAssembly.Module(await readFile(fixturePath(name)));
    expect(WebAssembly.Module.exports(mod)).toEqual(
      expect.arrayContaining([
        { name: "_start", kind: "function" },
        { name: "memory", kind: "memory" },
      ]),
    );
    // bad-import imports beyond preview1 on purpose: shims must refuse it at Create.
    const modules = new Set(WebAssembly.Module.imports(mod).map((imp) => imp.module));
    expect([...modules]).toEqual(
      name === "bad-import" ? ["wasi_snapshot_preview1", "env"] : ["wasi_snapshot_preview1"],
    );
  });

  it("has negative fixtures that must be rejected", async () => {
    const invalid = await readFile(fixturePath("invalid.wasm"));
    expect([...invalid.subarray(0, 8)]).toEqual([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    expect(WebAssembly.validate(invalid)).toBe(false);
    const text = await readFile(fixturePath("not-wasm.txt"));
    expect(text.subarray(0, 4).toString("latin1")).not.toBe("\0asm");
    expect(text.subarray(0, 4).toString("latin1")).not.toBe("\x7fELF");
    expect(text.subarray(0, 2).toString("latin1")).not.toBe("#!");
  });
});

describe("under node:wasi", () => {
  it("hello prints and returns 0", async () => {
    const r = await runWasi("hello");
    expect(r).toMatchObject({ code: 0, stdout: "hello from wasm\n", stderr: "" });
  });

  it("args-env echoes argv and environ", async () => {
    const r = await runWasi("args-env", { args: ["a", "b c"], env: { GREETING: "hello", EMPTY: "" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("arg:args-env\narg:a\narg:b c\nenv:GREETING=hello\nenv:EMPTY=\n");
    expect(r.stderr).toBe("to-stderr\n");
  });

  it("exit-code exits 42 by default", async () => {
    const r = await runWasi("exit-code");
    expect(r).toMatchObject({ code: 42, stdout: "", stderr: "exiting with 42\n" });
  });

  it("exit-code takes the code from argv[1]", async () => {
    expect(await runWasi("exit-code", { args: ["7"] })).toMatchObject({ code: 7, stderr: "exiting with 7\n" });
    expect(await runWasi("exit-code", { args: ["0"] })).toMatchObject({ code: 0 });
  });

  it("sleep blocks for argv[1] ms", async () => {
    const r = await runWasi("sleep", { args: ["50"] });
    expect(r).toMatchObject({ code: 0, stdout: "slept\n" });
    // The guest's monotonic clock and the test's differ slightly: allow a little slack, no upper bound.
    expect(r.ms).toBeGreaterThanOrEqual(45);
  });

  it("spin busy-waits for argv[1] ms", async () => {
    const r = await runWasi("spin", { args: ["30"] });
    expect(r).toMatchObject({ code: 0, stdout: "spun\n" });
    expect(r.ms).toBeGreaterThanOrEqual(25);
  });

  it("cat-stdin copies stdin to stdout", async () => {
    const input = join(tmp, "stdin.txt");
    const content = `first line\n${"x".repeat(100_000)}\nlast line\n`;
    await writeFile(input, content);
    const r = await runWasi("cat-stdin", { stdin: input });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(content);
  });

  it("trap prints, then traps with a RuntimeError", async () => {
    const r = await runWasi("trap");
    expect(r.code).toBeUndefined();
    expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(r.stdout).toBe("about to trap\n");
  });

  it("grow commits memory and reports progress", async () => {
    expect(await runWasi("grow", { args: ["4"] })).toMatchObject({ code: 0, stdout: "grown 4 MiB\n" });
    expect(await runWasi("grow", { args: ["33"] })).toMatchObject({
      code: 0,
      stdout: "grown 16 MiB\ngrown 32 MiB\ngrown 33 MiB\n",
    });
  });

  describe("write-file", () => {
    it("writes through the preopen named / wherever it is numbered", async () => {
      const root = join(tmp, "root");
      const other = join(tmp, "other");
      await mkdir(join(root, "data"), { recursive: true });
      await mkdir(other);
      // `/data` comes first, so `/` is fd 4, not 3.
      const preopens = { "/data": other, "/": root };
      const r = await runWasi("write-file", { args: ["/data/out.txt", "custom\n"], preopens });
      expect(r).toMatchObject({ code: 0, stdout: "wrote /data/out.txt\n" });
      expect(await readFile(join(root, "data", "out.txt"), "utf8")).toBe("custom\n");
      expect(await readdir(other)).toEqual([]);
    });

    it("truncates and writes the default content", async () => {
      const root = join(tmp, "root2");
      await mkdir(root);
      await writeFile(join(root, "out.txt"), "a much longer previous content\n");
      const r = await runWasi("write-file", { args: ["/out.txt"], preopens: { "/": root } });
      expect(r.code).toBe(0);
      expect(await readFile(join(root, "out.txt"), "utf8")).toBe("written by wasm\n");
    });

    it("exits 100+errno on failure", async () => {
      const root = join(tmp, "root3");
      await mkdir(root);
      expect((await runWasi("write-file")).code).toBe(128);
      expect((await runWasi("write-file", { args: ["/out.txt"], preopens: { "/data": root } })).code).toBe(144);
      expect((await runWasi("write-file", { args: ["/missing/out.txt"], preopens: { "/": root } })).code).toBe(144);
    });
  });

  it("loop runs until its worker is terminated", async () => {
    const stdoutPath = join(tmp, "loop.out");
    const stdout = openSync(stdoutPath, "w");
    // Stays CommonJS and self-contained: eval workers do not go through vitest's module loader.
    const code = `
      const { WASI } = require("node:wasi");
      const { readFileSync } = require("node:fs");
      const { workerData } = require("node:worker_threads");
      const wasi = new WASI({ version: "preview1", args: ["loop"], env: {}, stdout: workerData.stdout, returnOnExit: true });
      const mod = new WebAssembly.Module(readFileSync(workerData.path));
      wasi.start(new WebAssembly.Instance(mod, wasi.getImportObject()));
    `;
    const worker = new Worker(code, { eval: true, workerData: { path: fixturePath("loop"), stdout } });
    let exited = false;
    worker.on("exit", () => (exited = true));
    try {
      const deadline = Date.now() + 10_000;
      while ((await readFile(stdoutPath, "utf8")) !== "looping\n") {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(exited).toBe(false);
    } finally {
      await worker.terminate();
      closeSync(stdout);
    }
    expect(exited).toBe(true);
  });
});
