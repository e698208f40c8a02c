import { resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

const cli = resolve(import.meta.dirname, "../../src/cli");

/**
 * What a module loads before it runs: its bundle's inputs and external imports, following static
 * imports only (a dynamic import() is a separate chunk, loaded when reached).
 */
async function staticGraph(file: string): Promise<{ inputs: string[]; builtins: string[] }> {
  const { metafile } = await build({
    entryPoints: [resolve(cli, file)],
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
  const entry = Object.keys(outputs).find((k) => outputs[k]!.entryPoint?.endsWith(`cli/${file}`))!;
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

// Every container boots the executable for `start`, the daemon (once per pod) and `delete`; the
// generated protobuf descriptors take tens of ms to build and node:http2 as long to load, so
// these paths must reach them only when they need them.
describe("what each boot of the shim loads", () => {
  it("start and delete load no generated protobuf code", async () => {
    for (const file of ["start.ts", "delete.ts"]) {
      const { inputs } = await staticGraph(file);
      expect(inputs.length).toBeGreaterThan(3);
      expect(
        inputs.filter((i) => /\/gen\/|protobuf\/dist\/esm\/(wkt|codegenv2)\//.test(i)),
        file,
      ).toEqual([]);
    }
  });

  it("start decodes containerd's parameters with generated code only when there are some", async () => {
    const { inputs } = await staticGraph("start-input.ts");
    expect(inputs.some((i) => i.includes("/gen/containerd/runtime/bootstrap/"))).toBe(true);
  });

  it("the daemon loads node:http2 only when it calls containerd's API", async () => {
    const { builtins, inputs } = await staticGraph("daemon.ts");
    expect(inputs.some((i) => i.endsWith("containerd/grpc.ts"))).toBe(true);
    expect(builtins).toContain("node:net");
    expect(builtins).not.toContain("node:http2");
  });
});
