import { buildFixtures, buildPrograms, programPath } from "@wasm-shims/test-fixtures";
import { engineSuite, runGuest } from "@wasm-shims/shim-core/testing";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeEngine } from "../../src/engine.ts";

engineSuite(nodeEngine);

describe("a node guest settling down to wait", () => {
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "node-wait-"));
    await buildFixtures({ wasm: dir });
    await buildPrograms();
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const waits = async (name: string, args: string[] = [], path = join(dir, `${name}.wasm`)) => {
    let calls = 0;
    const res = await runGuest(nodeEngine, { path, args, onWait: () => calls++ });
    expect(res).toMatchObject({ code: 0 });
    return calls;
  };

  // The runner compacts its heap then (RunContext.onWait): once, and never on the start-up path.
  it("tells the runner once when it sleeps for long", async () => {
    expect(await waits("sleep", ["150"])).toBe(1);
  });

  it("says nothing for a guest that never waits, or only briefly", async () => {
    expect(await waits("hello")).toBe(0);
    expect(await waits("sleep", ["20"])).toBe(0);
  });

  // What toolchains make of a sleep: wasi-libc's nanosleep and usleep, Rust's thread::sleep, each a
  // poll_oneoff on one clock; the C program sleeps twice and is reported once.
  it("tells it for programs built by clang and rustc that sleep, and not for a short sleep", async () => {
    expect(await waits("clock-sleep-c", ["150"], programPath("clock-sleep-c"))).toBe(1);
    expect(await waits("tour-rust", ["clock", "150"], programPath("tour-rust"))).toBe(1);
    expect(await waits("tour-rust", ["clock", "5"], programPath("tour-rust"))).toBe(0);
  });
});
