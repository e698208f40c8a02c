import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.ts";
import { shimVersion } from "../../src/sea/version.ts";
import type { Engine } from "../../src/wasm/engine.ts";
import type { Entrypoint } from "../../src/wasm/entrypoint.ts";
import { PRECOMPILE_KEY_ENV } from "../../src/wasm/precompile-key.ts";
import { compilerKey } from "../../src/wasm/precompiled.ts";
import { prepareModule } from "../../src/wasm/prepare.ts";

// A module that exports _start and imports nothing.
const MODULE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0,
  0, 10, 4, 1, 2, 0, 0x0b,
]);

describe("what Create learned of a module file, kept under the file's identity", () => {
  const root = mkdtempSync(join(tmpdir(), "module-facts-"));
  const rootfs = join(root, "rootfs");
  const before = process.env[PRECOMPILE_KEY_ENV];
  process.env[PRECOMPILE_KEY_ENV] = join(root, "state", "precompile.key");
  afterAll(() => {
    if (before === undefined) delete process.env[PRECOMPILE_KEY_ENV];
    else process.env[PRECOMPILE_KEY_ENV] = before;
    rmSync(root, { recursive: true, force: true });
  });

  let validations = 0;
  let refuse = false;
  const engine: Engine = {
    name: "facts-test",
    version: "1",
    callsExports: true,
    run: async () => 0,
    validate: async () => {
      validations++;
      if (refuse) throw new Error("validated again");
    },
  };
  const verified = join(root, "state", "verified", compilerKey(engine, shimVersion));
  const entry = (exportName?: string): Entrypoint => ({
    kind: "wasm",
    path: "/app/m.wasm",
    hostPath: join(rootfs, "app/m.wasm"),
    root: rootfs,
    ...(exportName ? { exportName } : {}),
  });
  /** The verdicts on the module's bytes go: only what is kept under the file's identity remains. */
  const forgetBytes = () => {
    for (const f of readdirSync(verified)) if (!f.startsWith("facts-")) rmSync(join(verified, f));
  };

  beforeEach(() => {
    rmSync(rootfs, { recursive: true, force: true });
    mkdirSync(join(rootfs, "app"), { recursive: true });
    writeFileSync(join(rootfs, "app/m.wasm"), MODULE);
    validations = 0;
    refuse = false;
  });

  it("reads and checks a file once: the next Create of it reads nothing, and knows its size", async () => {
    expect((await prepareModule(engine, entry(), silentLogger)).moduleBytes).toBe(MODULE.length);
    expect(validations).toBe(1);
    forgetBytes();
    refuse = true;
    expect((await prepareModule(engine, entry(), silentLogger)).moduleBytes).toBe(MODULE.length);
    expect(validations).toBe(1);
  });

  it("reads it again once the file was written, and for a working directory it did not meet", async () => {
    await prepareModule(engine, entry(), silentLogger);
    forgetBytes();
    refuse = true;
    await expect(prepareModule(engine, entry(), silentLogger, "/app")).rejects.toThrow("validated again");
    writeFileSync(join(rootfs, "app/m.wasm"), MODULE);
    await expect(prepareModule(engine, entry(), silentLogger)).rejects.toThrow("validated again");
  });

  it("refuses an export the module does not have from what it kept", async () => {
    await prepareModule(engine, entry(), silentLogger);
    forgetBytes();
    refuse = true;
    await expect(prepareModule(engine, entry("nope"), silentLogger)).rejects.toThrow(
      /has no export nope \(its functions: _start\)/,
    );
    expect((await prepareModule(engine, entry("_start"), silentLogger)).prepared.data).toBeDefined();
  });

  it("skips an engine's prepare that gave nothing, never one that gave the runner something", async () => {
    let prepares = 0;
    const nothing: Engine = { ...engine, name: "facts-nothing", prepare: async () => (prepares++, {}) };
    const files: Engine = { ...engine, name: "facts-files", prepare: async () => (prepares++, { files: { m: "/x" } }) };
    for (const e of [nothing, files]) {
      await prepareModule(e, entry(), silentLogger);
      await prepareModule(e, entry(), silentLogger);
    }
    // Once for the engine that prepared nothing, twice for the one whose files the runner needs.
    expect(prepares).toBe(3);
  });
});
