import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const run = (file: string, args: string[]) => execFileSync(file, args, { cwd: root, encoding: "utf8", stdio: "pipe" });

describe("the repository", () => {
  it("type-checks under strict TypeScript", () => {
    expect(() => run("node_modules/.bin/tsc", ["-p", "tsconfig.json"])).not.toThrow();
  }, 120_000);

  it("has generated protobuf code that matches proto/", () => {
    expect(() => run("node", ["tools/generate.mjs", "--check"])).not.toThrow();
  }, 60_000);
});
