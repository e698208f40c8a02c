import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * The Node built-ins a fresh process has loaded once it has imported shim-core and an engine, as
 * every boot of an executable's bundle does (the runner, the daemon): esbuild keeps the static
 * import graph, so what the sources load when imported, the bundle loads at boot.
 */
function builtinsLoadedBy(engine: string): string[] {
  const script = `
    await import("@wasm-shims/shim-core");
    await import(${JSON.stringify(new URL(`../../../packages/shim-${engine}/src/engine.ts`, import.meta.url).href)});
    process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`importing the ${engine} engine failed: ${res.stderr}`);
  return (JSON.parse(res.stdout) as string[]).filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13));
}

// Each costs a runner 7-11 ms to load on the test machine; the daemon loads them when it needs them.
describe("what booting an executable's bundle loads", () => {
  it.each(["node", "jco", "wasmer"])("%s: not node:child_process", (engine) => {
    const loaded = builtinsLoadedBy(engine);
    expect(loaded).toContain("fs");
    expect(loaded).not.toContain("child_process");
    // The wasmer SDK's own package cache imports node:crypto.
    if (engine !== "wasmer") expect(loaded).not.toContain("crypto");
  });
});
