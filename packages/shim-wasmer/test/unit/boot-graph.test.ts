import { resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

const src = resolve(import.meta.dirname, "../../src");

/** What evaluating `file` evaluates: its static imports, transitively (an import() is a chunk of its own). */
async function staticInputs(file: string): Promise<{ inputs: string[]; builtins: string[] }> {
  const { metafile } = await build({
    entryPoints: [resolve(src, file)],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    outdir: "/nonexistent",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const outputs = (metafile as Metafile).outputs;
  const entry = Object.keys(outputs).find((k) => outputs[k]!.entryPoint?.endsWith(file))!;
  const seen = new Set<string>();
  const inputs = new Set<string>();
  const builtins = new Set<string>();
  const walk = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const i of Object.keys(outputs[key]!.inputs)) inputs.add(i);
    for (const imp of outputs[key]!.imports) {
      if (imp.kind !== "import-statement") continue;
      if (imp.external) builtins.add(imp.path);
      else walk(imp.path);
    }
  };
  walk(entry);
  return { inputs: [...inputs], builtins: [...builtins] };
}

const SDK = /@wasmer\/sdk\//;

// Every boot of the executable evaluates main.ts: the daemon, a spare, `-v`, the runner. The SDK
// (140 kB of glue, and node:crypto, node:net and node:dns for its cache and network) made each of
// them 45 ms of CPU longer on the test machine; only the runner uses it.
describe("what a boot of the wasmer shim evaluates", () => {
  it("evaluates the SDK only when the runner loads a guest", async () => {
    const main = await staticInputs("main.ts");
    expect(main.inputs.filter((i) => SDK.test(i))).toEqual([]);
    expect(main.builtins.filter((b) => ["node:tty", "node:dns/promises", "node:crypto"].includes(b))).toEqual([]);
    // The same walk sees the SDK where the runner loads it.
    const sdk = await staticInputs("sdk.ts");
    expect(sdk.inputs.some((i) => SDK.test(i) && i.endsWith("pkg/wasmer_sdk_js.js"))).toBe(true);
    expect(sdk.builtins).toContain("node:crypto");
  });
});
