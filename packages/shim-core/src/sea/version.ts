// Set by tools/sea-build.mjs when it bundles the executable; a run from source is a dev build.
declare const __SHIM_VERSION__: string | undefined;
declare const __SHIM_REVISION__: string | undefined;
export const shimVersion = typeof __SHIM_VERSION__ === "string" ? __SHIM_VERSION__ : "0.0.0-dev";
export const shimRevision = typeof __SHIM_REVISION__ === "string" ? __SHIM_REVISION__ : "unknown";
