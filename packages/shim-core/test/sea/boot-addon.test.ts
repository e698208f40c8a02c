// The boot script's early load of the native helper (src/sea/boot-addon.ts): where it finds the
// helper without extracting anything, and that the string it makes stays out of V8's heap. Each
// case runs in a child process: the helper it loads is kept per process, as in a shim.
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeAddonFile } from "../../src/sea/native.ts";

const bootAddon = new URL("../../src/sea/boot-addon.ts", import.meta.url).pathname;
const KEY = "shim-native-0123456789ab.node";

// Strings of 1 MB assets: equal to the bytes, and read from them in place (V8 copied nothing:
// a byte changed afterwards shows in the string). Each buffer is dropped and collected first.
const script = `
import { externalAsset, bootAddon } from ${JSON.stringify(bootAddon)};
const text = (i) => String(i).padStart(8, "0") + "x".repeat(1 << 20);
const buffers = [];
const sea = {
  getAsset: () => JSON.stringify({ dir: "probe-0000", files: { [${JSON.stringify(KEY)}]: Number(process.env.ADDON_SIZE) } }),
  getRawAsset: (key) => (buffers[Number(key)] = new TextEncoder().encode(text(Number(key))).buffer),
};
const made = [];
for (let i = 0; i < 8; i++) made.push(externalAsset(sea, String(i)));
const same = made.every((s, i) => s === text(i));
const views = buffers.map((b) => new Uint8Array(b));
buffers.length = 0;
globalThis.gc();
for (const v of views) v[0] = 0x5a;
const inPlace = made.every((s) => s?.[0] === "Z");
console.log(JSON.stringify({ made: made.filter((s) => s !== undefined).length, same, inPlace, preloaded: bootAddon() !== undefined }));
`;

describe("the bundle's source over the executable's pages", () => {
  let dir: string;
  let addon: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "boot-addon-"));
    addon = nativeAddonFile() ?? "";
    mkdirSync(join(dir, "probe-0000"));
    copyFileSync(addon, join(dir, "probe-0000", KEY));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (env: Record<string, string>, fd3?: number) => {
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ADDON_SIZE: String(statSync(addon).size), ...env },
      stdio: ["ignore", "pipe", "pipe", ...(fd3 === undefined ? [] : [fd3])],
    });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout) as { made: number; same: boolean; inPlace: boolean; preloaded: boolean };
  };

  it("loads the helper a shim extracted under its own asset root, and V8 keeps no copy", () => {
    const r = run({ WASM_SHIM_ASSET_DIR: dir });
    expect(r).toEqual({ made: 8, same: true, inPlace: true, preloaded: true });
  });

  it("falls back to a heap copy when no finished helper is there", () => {
    expect(run({ WASM_SHIM_ASSET_DIR: join(dir, "none") })).toMatchObject({ made: 0, preloaded: false });
    // A file of another size is one still being written, or another build's.
    expect(run({ WASM_SHIM_ASSET_DIR: dir, ADDON_SIZE: "12" })).toMatchObject({ made: 0, preloaded: false });
  });

  it("in a runner, loads the helper from the fd the host handed over", () => {
    // The child's fd 3, which the layout names as the helper; nothing under the asset root.
    const fd = openSync(addon, "r");
    try {
      const layout = { count: 1, loader: 3, binary: 3, libs: [], native: 3 };
      const r = run({ WASM_SHIM_ASSET_DIR: join(dir, "none"), WASM_SHIM_RUNNER: JSON.stringify(layout) }, fd);
      expect(r).toEqual({ made: 8, same: true, inPlace: true, preloaded: true });
    } finally {
      closeSync(fd);
    }
  });
});
