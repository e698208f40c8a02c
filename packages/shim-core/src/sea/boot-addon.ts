// The native helper loaded before the bundle is compiled, so that the bundle's source can be a
// string over the executable's own pages (externalLatin1) rather than a copy in V8's heap: 0.7 MB
// (node) to 1.9 MB (jco) of private memory in every daemon and every runner. Only files that
// need no extraction are used: the runner's fd of the host's copy, or the copy a shim already
// extracted under the root-owned asset root. Otherwise (the first boot on a machine, a shim run
// by a user) the bundle is compiled from a heap copy, as before, and the helper loads later.
import type { NativeAddon } from "./native.ts";
import { type AssetManifest, MANIFEST_ASSET, nativeAddonKey, ownAssetRoot } from "./asset-manifest.ts";
import { fdPath, runnerLayoutFromEnv } from "../wasm/runner-layout.ts";

/** What of node:sea this needs (a test passes its own). */
export type SeaAssets = Pick<typeof import("node:sea"), "getAsset" | "getRawAsset">;

// The boot script and the bundle each hold their own copy of this module.
const ADDON_KEY = Symbol.for("containerd-shim.native-addon");
type Global = Record<symbol, NativeAddon | undefined>;

/** The helper as this thread loaded it (the boot script, or native.ts); undefined until then. */
export const bootAddon = (): NativeAddon | undefined => (globalThis as Global)[ADDON_KEY];

/** Loads the helper from `file` and keeps it for this thread's later callers; throws as dlopen does. */
export function loadAddon(file: string): NativeAddon {
  const mod = { exports: {} as NativeAddon };
  const { constants } = process.getBuiltinModule("node:os");
  process.dlopen(mod, file, constants.dlopen.RTLD_NOW);
  return ((globalThis as Global)[ADDON_KEY] = mod.exports);
}

function addonFile(sea: SeaAssets): string | undefined {
  const fd = runnerLayoutFromEnv()?.native;
  if (fd !== undefined) return fdPath(fd);
  const manifest = JSON.parse(sea.getAsset(MANIFEST_ASSET, "utf8")) as AssetManifest;
  const key = nativeAddonKey(manifest);
  if (key === undefined) return undefined;
  const file = `${ownAssetRoot()}/${manifest.dir}/${key}`;
  const { statSync } = process.getBuiltinModule("node:fs");
  // A copy being written is renamed into place whole, so the size tells a finished one.
  return statSync(file, { throwIfNoEntry: false })?.size === manifest.files[key] ? file : undefined;
}

/** An embedded asset as a string over the executable's pages, or undefined when that cannot be had. */
export function externalAsset(sea: SeaAssets, key: string): string | undefined {
  try {
    let addon = bootAddon();
    if (addon === undefined) {
      const file = addonFile(sea);
      if (file === undefined) return undefined;
      addon = loadAddon(file);
    }
    return addon.externalLatin1(sea.getRawAsset(key));
  } catch {
    // An older helper, a Node without getRawAsset, an unreadable file: the heap copy will do.
    return undefined;
  }
}
