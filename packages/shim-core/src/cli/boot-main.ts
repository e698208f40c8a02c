// The single executable's main script (tools/sea-build.mjs); the whole bundle is its asset.
import { boot } from "./boot.ts";
import { runMainAsset } from "../sea/sea.ts";

declare const __SHIM_ENGINE__: string;

boot(__SHIM_ENGINE__, runMainAsset);
