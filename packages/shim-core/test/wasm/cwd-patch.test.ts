import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASI } from "node:wasi";
import { buildPrograms, programPath } from "@wasm-shims/test-fixtures";
import { patchCwd } from "../../src/wasm/cwd-patch.ts";
import { readSections } from "../../src/wasm/binary.ts";
import { readNames } from "../../src/wasm/names.ts";
import { readLayout } from "../../src/wasm/module.ts";

let root: string;

/** Runs a module under node:wasi with `root` as "/", as the engines do inside a container. */
function run(module: Uint8Array<ArrayBuffer>, args: string[]): { code: number; stdout: string } {
  const out = join(root, "..", `stdout-${process.pid}`);
  const fd = openSync(out, "w");
  const wasi = new WASI({
    version: "preview1",
    args: ["prog", ...args],
    env: {},
    preopens: { "/": root },
    stdout: fd,
    returnOnExit: true,
  });
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(module),
    wasi.getImportObject() as WebAssembly.Imports,
  );
  const code = wasi.start(instance);
  closeSync(fd);
  return { code, stdout: readFileSync(out, "utf8") };
}

const load = (name: string) => new Uint8Array(readFileSync(programPath(name)));
const functionNames = (bytes: Uint8Array) => new Set(readNames(readSections(bytes))!.functions.values());

beforeAll(async () => {
  await buildPrograms();
  root = join(mkdtempSync(join(tmpdir(), "cwd-patch-")), "root");
  for (const dir of ["app/nested/deep", "etc/corpus", "tmp"]) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, "data.txt"), "root data\n");
  writeFileSync(join(root, "app/data.txt"), "app data\n");
  writeFileSync(join(root, "app/nested/deep/file.txt"), "deep\n");
  writeFileSync(join(root, "etc/corpus/app.conf"), "conf\n");
}, 120_000);

afterAll(() => rmSync(join(root, ".."), { recursive: true, force: true }));

describe("the working-directory patch, on modules from Debian's toolchains", () => {
  it("the programs are the cases it claims: fs-tour-c links no chdir, cwd-chdir-c and tour-rust do", () => {
    expect(functionNames(load("fs-tour-c"))).toContain("undefined_weak:__wasilibc_find_relpath_alloc");
    expect(functionNames(load("cwd-chdir-c"))).toContain("__wasilibc_find_relpath_alloc");
    expect(functionNames(load("tour-rust"))).toContain("__wasilibc_find_relpath_alloc");
  });

  it("C without chdir: adds a resolver; relative paths, getcwd and absolute paths all follow /app", () => {
    const { module, patched, note } = patchCwd(load("fs-tour-c"), "/app");
    expect(patched).toBe(true);
    expect(note).toMatch(/resolver added/);
    const { code, stdout } = run(module, ["/tmp", "."]);
    expect(code).toBe(0);
    expect(stdout).toContain("getcwd: /app\n");
    expect(stdout).toContain("relative data.txt: app data\n");
    expect(stdout).toContain("relative nested/deep/file.txt: deep\n");
    expect(stdout).toContain("parent ../data.txt: root data\n");
    expect(stdout).toContain("image /etc/corpus/app.conf: conf\n");
    expect(stdout).toContain("list ./tour-c: copy.txt(11) kept.txt(11) sub/\n");
    expect(readFileSync(join(root, "app/tour-c/kept.txt"), "utf8")).toBe("alpha\nbeta\n");
    expect(readFileSync(join(root, "tmp/tour-c/kept.txt"), "utf8")).toBe("alpha\nbeta\n");
  });

  it("unpatched, the same module resolves relative paths from / (what the patch fixes)", () => {
    const { stdout } = run(load("fs-tour-c"), []);
    expect(stdout).toContain("getcwd: /\n");
    expect(stdout).toContain("relative data.txt: root data\n");
  });

  it("C with chdir: only data changes, and chdir still works from there", () => {
    const original = load("cwd-chdir-c");
    const { module, patched, note } = patchCwd(original, "/app/");
    expect(patched).toBe(true);
    expect(note).toMatch(/chdir emulation/);
    expect(readLayout(module).bodies.length).toBe(readLayout(original).bodies.length);
    const { code, stdout } = run(module, ["/tmp"]);
    expect(stdout).toBe(
      "getcwd: /app\ndata.txt: app data\n/etc/corpus/app.conf: conf\nafter chdir: /tmp\n/tmp/here.txt: written after chdir\n",
    );
    expect(code).toBe(0);
  });

  it("Rust std: current_dir and relative paths follow the working directory", () => {
    const { module, patched } = patchCwd(load("tour-rust"), "/app/nested");
    expect(patched).toBe(true);
    const { stdout } = run(module, ["fs"]);
    expect(stdout).toContain("current_dir: /app/nested\n");
    expect(stdout).toContain("relative nested/deep/file.txt: NotFound\n");
    expect(stdout).toContain("parent ../data.txt: app data\n");
  });

  it("leaves alone what it cannot or need not patch, saying why", () => {
    const hello = load("hello-c");
    expect(patchCwd(hello, "/app")).toMatchObject({
      module: hello,
      patched: false,
      note: expect.stringMatching(/nothing to patch/),
    });
    expect(patchCwd(load("fs-tour-c"), "/")).toMatchObject({
      patched: false,
      note: expect.stringMatching(/working directory is \//),
    });
    expect(patchCwd(new Uint8Array(readFileSync(programPath("hello-js"))), "/app")).toMatchObject({
      patched: false,
      note: expect.stringMatching(/not a core module/),
    });
    // A stripped module (no name section) cannot be patched: wasi-libc's variable cannot be found.
    const sections = readSections(load("fs-tour-c"));
    const nameless = sections.filter((s) => s.name !== "name");
    const stripped = Buffer.concat([
      Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
      ...nameless.map((s) => Buffer.concat([Buffer.from([s.id, ...leb(s.payload.length)]), s.payload])),
    ]);
    expect(WebAssembly.validate(stripped)).toBe(true);
    expect(patchCwd(new Uint8Array(stripped), "/app")).toMatchObject({
      patched: false,
      note: expect.stringMatching(/no name section/),
    });
    const truncated = load("fs-tour-c").subarray(0, 5000);
    expect(patchCwd(new Uint8Array(truncated), "/app")).toMatchObject({
      patched: false,
      note: expect.stringMatching(/cannot read the module/),
    });
  });

  it("never throws, whatever the bytes: damaged modules go to the engine as they came", () => {
    const original = load("cwd-chdir-c");
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const bytes = original.slice();
      for (let k = 0; k < 8; k++) bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
      const { module, patched } = patchCwd(bytes, "/app");
      if (!patched) expect(module).toBe(bytes);
    }
  });

  it("a relative path too long for the resolver's slot is passed on as given, and the host refuses it", () => {
    const { module } = patchCwd(load("cwd-chdir-c"), "/app");
    expect(WebAssembly.validate(module)).toBe(true);
    const { module: resolver } = patchCwd(load("fs-tour-c"), "/app");
    const long = "x/".repeat(2100);
    const { code, stdout } = run(resolver, [long]);
    expect(code).toBe(1);
    expect(stdout).toContain(`error: mkdir ${long}tour-c: Filename too long\n`);
  });
});

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
