import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { buildComponents, buildPrograms, programNames, programPath } from "../src/index.ts";
import { runWasi } from "./run-wasi.ts";

describe("programs built by real toolchains", () => {
  it("compiles C (clang + wasi-libc) and Rust (rustc wasm32-wasi), and a second build compiles nothing", async () => {
    const first = await buildPrograms();
    expect(await programNames()).toEqual(expect.arrayContaining(["hello-c", "hello-rust"]));
    expect(first.files).toContain(programPath("hello-c"));
    expect((await buildPrograms()).written).toEqual([]);
  }, 120_000);

  it.each([
    ["hello-c", "hello from C, 2 args\n"],
    ["hello-rust", "hello from Rust, 2 args\n"],
  ])(
    "%s runs under node:wasi on the host with its output and exit status",
    async (name, stdout) => {
      await buildPrograms();
      const res = await runWasi(programPath(name), { args: ["7"] });
      expect(res.error).toBeUndefined();
      expect(res.stdout).toBe(stdout);
      expect(res.code).toBe(7);
    },
    120_000,
  );

  it("builds a WASI 0.2 command component from JavaScript with componentize-js", async () => {
    const { files } = await buildComponents();
    expect(files).toContain(programPath("hello-js"));
    const bytes = readFileSync(programPath("hello-js"));
    // \0asm, then version 0x0d and layer 1: a component, not a core module.
    expect([...bytes.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    expect(bytes.includes(Buffer.from("wasi:cli/run@0.2.12"))).toBe(true);
  }, 180_000);
});
