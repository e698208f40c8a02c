import { resolve } from "node:path";
import { staticImports } from "@wasm-shims/test-lab/import-graph.ts";
import { describe, expect, it } from "vitest";

const src = resolve(import.meta.dirname, "../../src");
const staticInputs = (file: string) => staticImports(resolve(src, file));

const SDK = /@wasmer\/sdk\//;

// Every boot of the executable evaluates main.ts: the daemon, a spare, `-v`, the runner. The SDK
// (140 kB of glue, and node:crypto, node:net and node:dns for its cache and network) made `-v`
// take 48 ms more CPU on the test machine; only the runner uses it.
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
