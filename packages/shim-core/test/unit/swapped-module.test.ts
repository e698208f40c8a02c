import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("a module that no longer validates when the runner compiles it (swapped after Create)", () => {
  it("fails with a CompileError at its first bad function; V8 does not abort the runner", () => {
    const probe = fileURLToPath(new URL("swapped-module-probe.ts", import.meta.url));
    const res = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", probe], { encoding: "utf8" });
    expect(res.stderr).not.toContain("Fatal error");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^CompileError: Compiling function #0 failed/);
  });
});
