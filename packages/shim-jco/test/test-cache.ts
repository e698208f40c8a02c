import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A transpile cache (WASM_SHIM_JCO_CACHE) of the calling test file's own, removed after its tests:
 * each holds some 14 MB of transpiled components, and every CI run left five behind.
 */
export function testCache(): string {
  const dir = mkdtempSync(join(tmpdir(), "jco-cache-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
