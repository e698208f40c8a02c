// What every part of tools/sea-build.mjs shares: where the repository and its cache are, and how it reports.
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const rootRequire = createRequire(join(repoRoot, "package.json"));
export const cacheDir = join(repoRoot, "node_modules/.cache/sea-build");
export const log = (msg) => console.error(`[sea-build] ${msg}`);
export const ms = (t0) => `${Math.round(performance.now() - t0)} ms`;
export const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

export function fail(msg) {
  log(`error: ${msg}`);
  process.exit(1);
}
