import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheKey, cacheRoot, DEFAULT_CACHE_DIR, ensureTranspiled } from "../src/cache.ts";
import { runCommand } from "../src/run.ts";
import { ENTRY_MODULE } from "../src/transpile.ts";
import { JCO_TRANSPILE_VERSION, PREVIEW2_SHIM_VERSION, SHIM_JCO_VERSION } from "../src/version.ts";
import { buildComponents } from "./components.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("transpile cache", () => {
  let root: string;
  let hello: Uint8Array;
  let helloDigest: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "jco-cache-"));
    hello = (await buildComponents()).hello;
    helloDigest = sha256(hello);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("transpiles once, then hits", async () => {
    const lines: string[] = [];
    const first = await ensureTranspiled(root, hello, "/hello.wasm", helloDigest, (l) => lines.push(l));
    expect(first.hit).toBe(false);
    expect(first.manifest.exports).toContain("wasi:cli/run@0.2.12");
    const mtime = statSync(join(root, first.key, ENTRY_MODULE)).mtimeMs;
    const second = await ensureTranspiled(root, hello, "/hello.wasm", helloDigest, (l) => lines.push(l));
    expect(second).toMatchObject({ key: first.key, hit: true });
    expect(statSync(join(root, first.key, ENTRY_MODULE)).mtimeMs).toBe(mtime);
    expect(lines).toEqual([expect.stringMatching(/^transpiled in \d+ ms/), `transpile cache hit ${first.key}`]);
    // The shim's alone (containers are sent their entry's files); no temporary directory is left.
    expect(statSync(join(root, first.key)).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, first.key, ENTRY_MODULE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(root)).toEqual([first.key]);
  });

  it("does not use a damaged entry", async () => {
    const key = cacheKey(helloDigest);
    writeFileSync(
      join(root, key, ENTRY_MODULE),
      "export function instantiate() { throw new Error('damaged-entry-marker'); }\n",
    );
    const res = await ensureTranspiled(root, hello, "/hello.wasm", helloDigest, () => {});
    expect(res.hit).toBe(false);
    expect(readFileSync(join(root, key, ENTRY_MODULE), "utf8")).not.toContain("damaged-entry-marker");
    expect(readdirSync(root)).toEqual([key]);
  });

  it("gives concurrent Creates of one module one whole entry", async () => {
    const other = mkdtempSync(join(tmpdir(), "jco-cache-"));
    const all = await Promise.all(
      [1, 2, 3].map(() => ensureTranspiled(other, hello, "/hello.wasm", helloDigest, () => {})),
    );
    expect(new Set(all.map((r) => r.key)).size).toBe(1);
    expect(readdirSync(other)).toEqual([all[0]!.key]);
    rmSync(other, { recursive: true });
  });

  it("runs exit-with-code(42) as status 42, in process", async () => {
    const { exit42 } = await buildComponents();
    const res = await ensureTranspiled(root, exit42, "/exit42.wasm", sha256(exit42), () => {});
    const files = Object.fromEntries(
      Object.keys(res.manifest.files).map((name) => [name, new Uint8Array(readFileSync(join(root, res.key, name)))]),
    );
    const ctx = {
      path: "/exit42.wasm",
      module: new Uint8Array(exit42),
      args: ["/exit42.wasm"],
      env: {},
      cwd: "/",
      stdin: 0,
      stdout: 1,
      stderr: 2,
      data: {},
      files,
    };
    expect(await runCommand(ctx)).toBe(42);
  });

  it("rejects a component jco cannot transpile, with the path in the message", async () => {
    const broken = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 0xff, 0xff]);
    await expect(ensureTranspiled(root, broken, "/broken.wasm", sha256(broken), () => {})).rejects.toThrow(
      /\/broken\.wasm cannot be transpiled by jco/,
    );
  });

  it("lives under /var/lib unless WASM_SHIM_JCO_CACHE says otherwise", () => {
    expect(cacheRoot({})).toBe(DEFAULT_CACHE_DIR);
    expect(cacheRoot({ WASM_SHIM_JCO_CACHE: "/x" })).toBe("/x");
  });

  it("keys entries by the pinned versions", () => {
    const version = (pkg: string) =>
      (
        JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), "utf8")) as {
          version: string;
        }
      ).version;
    expect(version("@bytecodealliance/jco-transpile")).toBe(JCO_TRANSPILE_VERSION);
    expect(version("@bytecodealliance/preview2-shim")).toBe(PREVIEW2_SHIM_VERSION);
    expect(
      (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version,
    ).toBe(SHIM_JCO_VERSION);
  });
});
