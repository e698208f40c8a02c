import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/**
 * Formats the docs a tool has just written as `pnpm format` would: CI runs `biome ci`, which fails
 * on a generated table that is not padded the way Biome pads it.
 */
export function formatDocs(files: readonly string[]): void {
  execFileSync(join(root, "node_modules/.bin/biome"), ["format", "--write", ...files], { cwd: root, stdio: "ignore" });
}
