// What tools/sea-assets.mjs embeds about the executable's assets, and where a process finds them
// extracted. Import-free: the boot script reads it before the bundle is compiled (boot-addon.ts).

/** The SEA asset tools/sea-assets.mjs writes: where to extract, and every asset with its size. */
export const MANIFEST_ASSET = "sea-assets.json";
export const DEFAULT_ASSET_ROOT = "/run/containerd-shim-assets";

export interface AssetManifest {
  /** `<executable name>-<hash of the file list>`: a new build never reuses an old directory. */
  dir: string;
  /** key -> size in bytes */
  files: Record<string, number>;
}

/** The root only root writes to, and where a shim on the host extracts its assets. */
export const ownAssetRoot = (env: NodeJS.ProcessEnv = process.env): string =>
  env.WASM_SHIM_ASSET_DIR || DEFAULT_ASSET_ROOT;

/** The native helper's key (native.ts names packages/shim-core/dist/native/shim-native.node). */
export const nativeAddonKey = (manifest: AssetManifest): string | undefined =>
  Object.keys(manifest.files).find((key) => key.startsWith("shim-native-") && key.endsWith(".node"));
