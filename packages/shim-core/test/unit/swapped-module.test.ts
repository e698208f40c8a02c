import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGuest } from "../../src/testing/in-process.ts";
import type { Engine } from "../../src/wasm/engine.ts";
import { runPreview1 } from "../../src/wasm/preview1/run.ts";
import { commandWithStart, INVALID_BODY } from "./start-module.ts";

describe("a module that no longer validates when the runner compiles it (swapped after Create)", () => {
  it("fails with a CompileError at its first bad function; V8 does not abort the runner", () => {
    const probe = fileURLToPath(new URL("swapped-module-probe.ts", import.meta.url));
    const res = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", probe], { encoding: "utf8" });
    expect(res.stderr).not.toContain("Fatal error");
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^CompileError: Compiling function #0 failed/);
  });

  it("leaves the in-process harness's next check as eager as the daemon's", async () => {
    const engine: Engine = { name: "preview1", version: "test", run: runPreview1 };
    expect(await runGuest(engine, { path: "/ok.wasm", module: commandWithStart([]) })).toMatchObject({ code: 0 });
    // The run set lazy validation for its guest; Create's check of the next module must still
    // refuse a bad function body, not leave it to the runner.
    await expect(runGuest(engine, { path: "/bad.wasm", module: commandWithStart(INVALID_BODY) })).rejects.toThrow(
      /not a valid WebAssembly module/,
    );
  });
});
