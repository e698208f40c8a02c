import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** Generated or installed, not written by hand: protobuf-es output, builds, dependencies, caches. */
const skipped = /(^|\/)(node_modules|dist|gen|\.git|\.turbo|coverage)(\/|$)/;

/** Every hand-written file under `dir` whose name ends in one of `exts`, as paths relative to the repository. */
export function sourceFiles(dir: string, exts: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = join(abs, entry.name);
      const rel = relative(repoRoot, path);
      if (skipped.test(rel)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && exts.some((ext) => entry.name.endsWith(ext))) out.push(rel);
    }
  };
  walk(join(repoRoot, dir));
  return out.sort();
}

/** The modules a TypeScript file imports (static, dynamic and type-only), as written. */
export function importSpecifiers(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), "utf8");
  const found = text.matchAll(
    /(?:^|[\s;])(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm,
  );
  return [...found].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}
