import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { isBundleThread, isSea, mainSource, seaAsset, selfCommand, THREAD_ARGV } from "../../src/sea/sea.ts";

const seaModule = fileURLToPath(new URL("../../src/sea/sea.ts", import.meta.url));

describe("sea helpers outside a single executable", () => {
  it("reports not being a SEA", () => {
    expect(isSea()).toBe(false);
  });

  it("refuses to read assets", () => {
    expect(() => seaAsset("main.cjs")).toThrow(/not running as a single executable/);
  });

  it("re-executes through node and the main script", () => {
    expect(selfCommand(["start", "-id", "c1"])).toEqual({
      file: process.execPath,
      args: [process.argv[1], "start", "-id", "c1"],
    });
  });

  // main.ts tells the bundle's own worker threads by their first argument, not by loading
  // node:worker_threads: that must hold for threads started as runner.ts and the HTTP server do.
  it("tells a thread started with THREAD_ARGV from the main thread", async () => {
    expect(isBundleThread()).toBe(false);
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(process.argv.slice(2))", {
      eval: true,
      argv: [THREAD_ARGV],
    });
    const argv = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    expect(argv).toEqual([THREAD_ARGV]);
    await w.terminate();
  });

  it("has no bundle source when run from TypeScript source", () => {
    expect(() => mainSource()).toThrow(/only available in the built bundle/);
  });
});

// The CJS-bundle path can only be seen from a real bundle, so build one the way sea-build does.
describe("sea helpers in a plain CJS bundle", () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sea-test-"));
    const entry = join(dir, "entry.ts");
    writeFileSync(
      entry,
      `import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { isSea, mainSource, selfCommand } from ${JSON.stringify(seaModule)};
if (isMainThread) {
  const src = mainSource();
  const w = new Worker(src, { eval: true });
  w.once("message", (fromWorker) => {
    console.log(JSON.stringify({ isSea: isSea(), src, self: selfCommand(["x"]), fromWorker }));
  });
} else {
  parentPort!.postMessage({ answer: 6 * 7, filename: __filename });
}
`,
    );
    bundle = join(dir, "entry.cjs");
    await build({
      entryPoints: [entry],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node24",
      logLevel: "silent",
    });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // The worker requires the bundle by path, so __filename there is the bundle (assets.ts needs it).
  it("loads itself in workers and re-executes with the bundle path", () => {
    const out = JSON.parse(execFileSync(process.execPath, [bundle], { encoding: "utf8" }));
    expect(out).toEqual({
      isSea: false,
      src: `require(${JSON.stringify(bundle)});\n`,
      self: { file: process.execPath, args: [bundle, "x"] },
      fromWorker: { answer: 42, filename: bundle },
    });
  });
});
