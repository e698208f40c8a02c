import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, sourceFiles } from "./source-files.ts";

const MAX_LINES = 300;
/** Hand-written sources: every package's and tool's code, tests, fixtures' programs and scripts. */
const files = [
  ...sourceFiles("packages", [".ts", ".mjs", ".js", ".c", ".rs", ".wat"]),
  ...sourceFiles("tools", [".ts", ".mjs", ".sh"]),
];
const lines = (file: string) => readFileSync(join(repoRoot, file), "utf8").split("\n").length - 1;

describe("the house style", () => {
  it("keeps every hand-written file at 300 lines or fewer", () => {
    expect(files.length).toBeGreaterThan(300);
    const long = files.filter((f) => lines(f) > MAX_LINES).map((f) => `${f}: ${lines(f)} lines`);
    expect(long).toEqual([]);
  });

  it("uses #private, not TypeScript's private, for fields and methods (a private constructor has no # form)", () => {
    const found = files
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) =>
        readFileSync(join(repoRoot, f), "utf8")
          .split("\n")
          .map((line, i) => [f, i + 1, line] as const),
      )
      .filter(([, , line]) =>
        /^\s+(?:(?:public|protected|static|readonly|override|async)\s+)*private\s+(?!constructor\b)/.test(line),
      )
      .map(([f, n, line]) => `${f}:${n}: ${line.trim()}`);
    expect(found).toEqual([]);
  });
});
