import { readFileSync } from "node:fs";
import { ensureFixtures, fixturePath } from "@wasm-shims/test-fixtures";
import { beforeAll, describe, expect, it } from "vitest";
import { layerServes, preopens } from "../src/engine.ts";
import { importModules } from "../src/imports.ts";
import { readConfig, withConfig } from "../src/run-config.ts";
import type { LayerConfig } from "../src/wasi/preview1.ts";

// A module with one import of each kind, written out by hand: (module (import "m1" "f" (func))
// (import "m2" "t" (table 1 funcref)) (import "m3" "mem" (memory 1 2)) (import "m4" "g" (global i32))).
const kinds = new Uint8Array([
  0,
  0x61,
  0x73,
  0x6d,
  1,
  0,
  0,
  0,
  1,
  4,
  1,
  0x60,
  0,
  0, // type section: () -> ()
  2,
  0x24,
  4, // import section: 36 bytes, 4 imports
  2,
  0x6d,
  0x31,
  1,
  0x66,
  0,
  0, // m1.f func 0
  2,
  0x6d,
  0x32,
  1,
  0x74,
  1,
  0x70,
  0,
  1, // m2.t table funcref min 1
  2,
  0x6d,
  0x33,
  3,
  0x6d,
  0x65,
  0x6d,
  2,
  1,
  1,
  2, // m3.mem memory 1..2
  2,
  0x6d,
  0x34,
  1,
  0x67,
  3,
  0x7f,
  0, // m4.g global i32 const
]);

describe("what the engine reads from and adds to a module", () => {
  beforeAll(async () => void (await ensureFixtures()));

  it("lists the modules a module imports from without compiling it", () => {
    expect(WebAssembly.validate(kinds)).toBe(true);
    expect([...importModules(kinds)]).toEqual(["m1", "m2", "m3", "m4"]);
    expect([...importModules(readFileSync(fixturePath("hello")))]).toEqual(["wasi_snapshot_preview1"]);
    expect(() => importModules(kinds.subarray(0, 30))).toThrow(/past the end/);
  });

  it("serves preview1 modules and leaves WASIX ones to the SDK", () => {
    expect(layerServes(readFileSync(fixturePath("hello")))).toBe(true);
    // A module importing one function from `m`.
    const named = (m: string) => {
      const name = new TextEncoder().encode(m);
      return new Uint8Array([
        0,
        0x61,
        0x73,
        0x6d,
        1,
        0,
        0,
        0,
        1,
        4,
        1,
        0x60,
        0,
        0,
        2,
        6 + name.length,
        1,
        name.length,
        ...name,
        1,
        0x66,
        0,
        0,
      ]);
    };
    expect(WebAssembly.validate(named("env"))).toBe(true);
    for (const m of ["wasix_32v1", "wasix_64v1", "wasi", "wasi_unstable"]) expect(layerServes(named(m)), m).toBe(false);
    expect(layerServes(named("env"))).toBe(true);
  });

  it("carries the run's config in a custom section the module still validates with", async () => {
    const config: LayerConfig = {
      args: ["/app.wasm", "ü"],
      root: "/",
      preopens: preopens(),
      hidden: ["/proc"],
      files: true,
      run: "r1",
    };
    const module = withConfig(readFileSync(fixturePath("hello")), config);
    expect(readConfig(await WebAssembly.compile(module))).toEqual(config);
    expect(readConfig(await WebAssembly.compile(readFileSync(fixturePath("hello"))))).toBeUndefined();
    // A module that brings a section of that name itself does not choose its own config.
    const forged = withConfig(readFileSync(fixturePath("hello")), { ...config, hidden: [] });
    expect(readConfig(await WebAssembly.compile(withConfig(forged, config)))).toEqual(config);
    // Written after the module in its own buffer when the runner left room there, else copied.
    const bytes = readFileSync(fixturePath("hello"));
    const roomy = new Uint8Array(new ArrayBuffer(bytes.length + 4096), 0, bytes.length);
    roomy.set(bytes);
    const inPlace = withConfig(roomy, config, 4096);
    expect(inPlace.buffer).toBe(roomy.buffer);
    expect(Buffer.from(inPlace).equals(Buffer.from(module))).toBe(true);
    expect(withConfig(roomy, config, 10).buffer).not.toBe(roomy.buffer);
    // Only the root: a "." preopen would take absolute paths too (wasi-libc strips both names to
    // ""); the runner patches the working directory into the module instead.
    expect(preopens()).toEqual([{ name: "/", path: "/" }]);
  });
});
