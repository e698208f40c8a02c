import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixturePath } from "@wasm-shims/test-fixtures";
import type { Engine } from "../../src/wasm/engine.ts";
import type { Entrypoint } from "../../src/wasm/entrypoint.ts";
import { checkExport, EXPORT_DATA_KEY, moduleExports, withExport } from "../../src/wasm/guest-entry.ts";
import { runPreview1Module } from "../../src/wasm/preview1/run.ts";

const exportsWasm = new Uint8Array(readFileSync(fixturePath("exports")));
const engine = (callsExports: boolean): Engine => ({ name: "test", version: "1", callsExports, run: async () => 0 });
const entry = (exportName?: string): Entrypoint => ({
  kind: "wasm",
  path: "/exports.wasm",
  hostPath: "",
  root: "/",
  ...(exportName ? { exportName } : {}),
});

describe("moduleExports", () => {
  it("reads names and kinds from the export section", () => {
    expect(Object.fromEntries(moduleExports(exportsWasm))).toEqual({
      memory: "memory",
      answer: "global",
      _start: "function",
      greet: "function",
      quiet: "function",
    });
    expect(moduleExports(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])).size).toBe(0);
  });
});

describe("checkExport", () => {
  it("accepts a function export on an engine that calls exports, and nothing to check without one", () => {
    expect(() => checkExport(engine(true), exportsWasm, entry("greet"))).not.toThrow();
    expect(() => checkExport(engine(false), exportsWasm, entry())).not.toThrow();
  });

  it("refuses what cannot be started, saying why", () => {
    expect(() => checkExport(engine(true), exportsWasm, entry("nope"))).toThrow(
      /entrypoint \/exports\.wasm#nope: the module has no export nope \(its functions: _start, greet, quiet\): invalid argument$/,
    );
    expect(() => checkExport(engine(true), exportsWasm, entry("answer"))).toThrow(
      /exports answer as a global, not a function/,
    );
    expect(() => checkExport(engine(false), exportsWasm, entry("greet"))).toThrow(
      /the test engine always starts a module at _start/,
    );
    const component = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
    expect(() => checkExport(engine(true), component, entry("run"))).toThrow(
      /is a component, whose world decides what runs/,
    );
  });

  it("hands the export to the runner in its data", () => {
    expect(withExport({ data: { kind: "x" } }, entry("greet"))).toEqual({
      data: { kind: "x", [EXPORT_DATA_KEY]: "greet" },
    });
    expect(withExport({}, entry())).toEqual({});
  });
});

describe("runPreview1Module with an export", () => {
  it("calls it in _start's place: proc_exit's status, or 0 when it returns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guest-entry-"));
    try {
      const run = async (exportName?: string) => {
        const out = join(dir, `${exportName ?? "start"}.out`);
        const fd = openSync(out, "w");
        const code = await runPreview1Module(exportsWasm, {
          args: ["x"],
          env: {},
          preopens: {},
          stdin: 0,
          stdout: fd,
          stderr: 2,
          ...(exportName ? { exportName } : {}),
        });
        return { code, out: readFileSync(out, "utf8") };
      };
      expect(await run()).toEqual({ code: 0, out: "start was called\n" });
      expect(await run("greet")).toEqual({ code: 7, out: "greet was called\n" });
      expect(await run("quiet")).toEqual({ code: 0, out: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
