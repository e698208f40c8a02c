import { join } from "node:path";

/** Root of this package; fixtures are found relative to it, not to the caller's cwd. */
export const packageDir = join(import.meta.dirname, "..");
export const watDir = join(packageDir, "wat");
export const wasmDir = join(packageDir, "dist", "wasm");

/** Every WAT fixture, one per `wat/<name>.wat`; the build compiles each to `dist/wasm/<name>.wasm`. */
export const fixtureNames = [
  "hello",
  "args-env",
  "exit-code",
  "loop",
  "sleep",
  "cat-stdin",
  "write-file",
  "trap",
  "grow",
  "spin",
  "read-file",
  "bad-import",
  "exports",
] as const;
export type FixtureName = (typeof fixtureNames)[number];

/** Files that must be rejected: a corrupt module with a valid header, and a plain text file. */
export const negativeFixtureFiles = ["invalid.wasm", "not-wasm.txt"] as const;

/**
 * Absolute path of a built fixture: `fixturePath("hello")` for `hello.wasm`; a name with an
 * extension (`"not-wasm.txt"`) is taken as a file name. Does not build: see `ensureFixtures`.
 */
export function fixturePath(name: string): string {
  return join(wasmDir, name.includes(".") ? name : `${name}.wasm`);
}
