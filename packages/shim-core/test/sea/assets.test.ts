import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AssetManifest, assetRoots, DEFAULT_ASSET_ROOT, extractAssets } from "../../src/sea/assets.ts";

const files: Record<string, string> = { "a-111.wasm": "wasm bytes", "w-222.mjs": "export default 1;\n" };
const manifest: AssetManifest = {
  dir: "shim-x-0123456789abcdef",
  files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.byteLength(v)])),
};

describe("extractAssets", () => {
  let tmp: string;
  let reads: string[];
  const read = (key: string): Uint8Array => {
    reads.push(key);
    return Buffer.from(files[key]!);
  };

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "assets-test-"));
    reads = [];
  });
  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it("writes every asset into <root>/<dir>/ and leaves no temporary files", () => {
    const dir = extractAssets(manifest, read, [{ path: join(tmp, "root"), shared: false }]);
    expect(dir).toBe(join(tmp, "root", manifest.dir));
    expect(readdirSync(dir).sort()).toEqual(Object.keys(files).sort());
    for (const [k, v] of Object.entries(files)) expect(readFileSync(join(dir, k), "utf8")).toBe(v);
  });

  it("reads nothing when the directory is complete, and rewrites a file of the wrong size", () => {
    const roots = [{ path: join(tmp, "root"), shared: false }];
    const dir = extractAssets(manifest, read, roots);
    reads = [];
    expect(extractAssets(manifest, read, roots)).toBe(dir);
    expect(reads).toEqual([]);
    writeFileSync(join(dir, "a-111.wasm"), "trunc");
    extractAssets(manifest, read, roots);
    expect(reads).toEqual(["a-111.wasm"]);
    expect(readFileSync(join(dir, "a-111.wasm"), "utf8")).toBe(files["a-111.wasm"]);
  });

  it("does not create the root's parent, and falls back to the next root", () => {
    writeFileSync(join(tmp, "file"), "");
    const roots = [
      { path: join(tmp, "missing/root"), shared: false },
      { path: join(tmp, "file/root"), shared: false },
      { path: join(tmp, "fallback"), shared: true },
    ];
    const dir = extractAssets(manifest, read, roots);
    expect(dir).toBe(join(tmp, "fallback", manifest.dir));
    expect(() => statSync(join(tmp, "missing"))).toThrow();
  });

  it("uses a shared root only when it is ours and writable by nobody else", () => {
    const loose = join(tmp, "loose");
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    const roots = [{ path: loose, shared: true }];
    expect(() => extractAssets(manifest, read, roots)).toThrow(/writable by others/);
    expect(extractAssets(manifest, read, [...roots, { path: join(tmp, "ok"), shared: true }])).toBe(
      join(tmp, "ok", manifest.dir),
    );
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a shared root that belongs to someone else", () => {
    const theirs = join(tmp, "theirs");
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, 65534, 65534);
    expect(() => extractAssets(manifest, read, [{ path: theirs, shared: true }])).toThrow(/belongs to uid 65534/);
  });

  it("says where it tried when nothing works", () => {
    writeFileSync(join(tmp, "file"), "");
    expect(() =>
      extractAssets(manifest, read, [
        { path: join(tmp, "file/a"), shared: false },
        { path: join(tmp, "file/b"), shared: true },
      ]),
    ).toThrow(/cannot extract the executable's assets \(.*file\/a: .*; .*file\/b: /);
  });
});

describe("assetRoots", () => {
  it("prefers $WASM_SHIM_ASSET_DIR, else /run, then temporary directories per uid", () => {
    const uid = process.getuid?.() ?? 0;
    expect(assetRoots({}).map((r) => [r.path, r.shared])).toEqual([
      [DEFAULT_ASSET_ROOT, false],
      [join(tmpdir(), `containerd-shim-assets-${uid}`), true],
      [`/dev/shm/containerd-shim-assets-${uid}`, true],
    ]);
    expect(assetRoots({ WASM_SHIM_ASSET_DIR: "/srv/a" })[0]).toEqual({ path: "/srv/a", shared: false });
  });
});
