import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.ts";
import type { Engine } from "../../src/wasm/engine.ts";
import { PRECOMPILE_KEY_ENV } from "../../src/wasm/precompile-key.ts";
import { compilerKey } from "../../src/wasm/precompiled.ts";
import { shimVersion } from "../../src/sea/version.ts";
import { checkedOnce, pruneVerdicts } from "../../src/wasm/verdicts.ts";

describe("a module's checks, kept once passed", () => {
  const root = mkdtempSync(join(tmpdir(), "verdicts-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const engine: Engine = { name: "test", version: "1", run: async () => 0 };
  const digest = (s: string) => createHash("sha256").update(s).digest("hex");

  /** How many times the check ran over `modules`, with the node's state in `state`. */
  async function checks(state: string, modules: string[], outcome = async () => {}, e = engine) {
    const env = { [PRECOMPILE_KEY_ENV]: join(state, "precompile.key") };
    let n = 0;
    for (const m of modules) {
      await checkedOnce(
        e,
        digest(m),
        () => {
          n++;
          return outcome();
        },
        silentLogger,
        env,
      ).catch(() => {});
    }
    return n;
  }

  it("checks a module's bytes once, and other bytes again", async () => {
    const state = join(root, "once");
    expect(await checks(state, ["a", "a", "b", "a", "b"])).toBe(2);
  });

  it("keeps nothing for a module that failed", async () => {
    const state = join(root, "failed");
    const fail = () => Promise.reject(new Error("invalid"));
    expect(await checks(state, ["bad", "bad"], fail)).toBe(2);
    await expect(
      checkedOnce(engine, digest("bad"), fail, silentLogger, { [PRECOMPILE_KEY_ENV]: join(state, "k") }),
    ).rejects.toThrow("invalid");
  });

  it("checks again under another engine version (another compiler key)", async () => {
    const state = join(root, "versions");
    expect(await checks(state, ["a"])).toBe(1);
    expect(await checks(state, ["a"], async () => {}, { ...engine, version: "2" })).toBe(1);
    expect(await checks(state, ["a"])).toBe(0);
    expect(readdirSync(join(state, "verified"))).toHaveLength(2);
  });

  it("trusts no directory that others may write", async () => {
    const state = join(root, "open");
    const dir = join(state, "verified", compilerKey(engine, shimVersion));
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    expect(await checks(state, ["a", "a"])).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps a directory bounded: beyond its limit the oldest files go, down to three quarters", async () => {
    const dir = join(root, "bounded");
    mkdirSync(dir);
    for (let i = 0; i < 10; i++) {
      writeFileSync(join(dir, `v${i}`), "");
      utimesSync(join(dir, `v${i}`), 1_000_000 + i, 1_000_000 + i);
    }
    await pruneVerdicts(dir, 12);
    expect(readdirSync(dir)).toHaveLength(10);
    await pruneVerdicts(dir, 8);
    expect(readdirSync(dir).sort()).toEqual(["v4", "v5", "v6", "v7", "v8", "v9"]);
  });
});
