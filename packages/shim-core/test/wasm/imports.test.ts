import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ensureFixtures, fixturePath } from "@wasm-shims/test-fixtures";
import { checkImports, isComponent, missingImports, moduleImports, type ModuleImport } from "../../src/wasm/imports.ts";
import { PREVIEW1_FUNCTIONS, PREVIEW1_IMPORTS } from "../../src/wasm/preview1/functions.ts";

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const HEADER = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];

/** A module importing one of each kind, in the forms the reader must step over. */
function everyKind(): Uint8Array<ArrayBuffer> {
  const types = section(1, [1, 0x60, 0, 0]);
  const imports = section(2, [
    5,
    ...name("wasi_snapshot_preview1"),
    ...name("sched_yield"),
    0,
    0,
    ...name("env"),
    ...name("table"),
    1,
    0x70,
    1,
    1,
    ...leb(1000),
    ...name("env"),
    ...name("memory"),
    2,
    0x03,
    1,
    2, // shared, min 1 max 2
    ...name("env"),
    ...name("global"),
    3,
    0x7e,
    1,
    ...name("env"),
    ...name("big"),
    0,
    0,
  ]);
  return new Uint8Array([...HEADER, ...types, ...imports]);
}

describe("a core module's imports", () => {
  it("are read from the import section as V8 reads them", async () => {
    const bytes = everyKind();
    const v8 = WebAssembly.Module.imports(await WebAssembly.compile(bytes));
    expect(moduleImports(bytes)).toEqual(v8.map((i) => ({ module: i.module, name: i.name, kind: i.kind })));
    await ensureFixtures();
    for (const fixture of ["hello", "write-file", "bad-import"]) {
      const file = new Uint8Array(readFileSync(fixturePath(fixture)));
      expect(moduleImports(file)).toEqual(
        WebAssembly.Module.imports(new WebAssembly.Module(file)).map((i) => ({
          module: i.module,
          name: i.name,
          kind: i.kind,
        })),
      );
    }
    expect(moduleImports(new Uint8Array(HEADER))).toEqual([]);
  });

  it("refuses bytes it cannot read", () => {
    expect(() => moduleImports(new Uint8Array([1, 2, 3]))).toThrow(/not a core WebAssembly module/);
    expect(() => moduleImports(new Uint8Array([...HEADER, 2, 10, 1]))).toThrow(/past the end/);
  });

  it("are checked against what an engine provides: functions by name, or a whole module", () => {
    const imps: ModuleImport[] = [
      { module: "wasi_snapshot_preview1", name: "fd_write", kind: "function" },
      { module: "wasi_snapshot_preview1", name: "no_such_call", kind: "function" },
      { module: "wasi_snapshot_preview1", name: "memory", kind: "memory" },
      { module: "wasix_32v1", name: "fd_pipe", kind: "function" },
      { module: "constructor", name: "x", kind: "function" },
    ];
    expect(missingImports(imps, PREVIEW1_IMPORTS).map((m) => `${m.module}.${m.name}`)).toEqual([
      "wasi_snapshot_preview1.no_such_call",
      "wasi_snapshot_preview1.memory",
      "wasix_32v1.fd_pipe",
      "constructor.x",
    ]);
    expect(missingImports(imps, { wasi_snapshot_preview1: "*", wasix_32v1: "*" }).map((m) => m.name)).toEqual(["x"]);
  });

  it("refuse a module at Create with a message naming each missing import", async () => {
    await ensureFixtures();
    const bad = new Uint8Array(readFileSync(fixturePath("bad-import")));
    await expect(checkImports({ name: "node", imports: PREVIEW1_IMPORTS }, bad, "/bad-import.wasm")).rejects.toThrow(
      "/bad-import.wasm imports what the node engine does not provide: wasi_snapshot_preview1.no_such_call, env.host_thing (it provides wasi_snapshot_preview1)",
    );
    await expect(
      checkImports(
        { name: "node", imports: PREVIEW1_IMPORTS },
        new Uint8Array(readFileSync(fixturePath("hello"))),
        "/hello.wasm",
      ),
    ).resolves.toBeUndefined();
    // No list, no check; a component is left to its engine.
    await expect(checkImports({ name: "x" }, bad, "/bad-import.wasm")).resolves.toBeUndefined();
    const component = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
    expect(isComponent(component)).toBe(true);
    await expect(
      checkImports({ name: "jco", imports: PREVIEW1_IMPORTS }, component, "/c.wasm"),
    ).resolves.toBeUndefined();
  });

  it("of preview1 are every function node:wasi provides", () => {
    const { WASI } = process.getBuiltinModule("node:wasi");
    const provided = Object.keys(
      (new WASI({ version: "preview1" }).getImportObject() as { wasi_snapshot_preview1: object })
        .wasi_snapshot_preview1,
    );
    expect([...PREVIEW1_FUNCTIONS].sort()).toEqual(provided.sort());
  });
});
