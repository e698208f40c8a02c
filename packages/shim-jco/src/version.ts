/** Pinned in package.json; test/cache.test.ts keeps these in step. Part of every cache key. */
export const JCO_TRANSPILE_VERSION = "0.15.0";
export const PREVIEW2_SHIM_VERSION = "0.26.1";
export const SHIM_JCO_VERSION = "0.1.0";

/** Everything that changes what a transpile produces or how its output is run ("http jspi": src/transpile.ts). */
export const ENGINE_VERSION = `shim-jco ${SHIM_JCO_VERSION} (http jspi), jco-transpile ${JCO_TRANSPILE_VERSION}, preview2-shim ${PREVIEW2_SHIM_VERSION}`;
