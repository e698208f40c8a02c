import { build, type Metafile } from "esbuild";

/**
 * What evaluating `entry` (an absolute path) evaluates before it runs: the files of its bundle and
 * the external (built-in) modules it imports, following static imports only. A dynamic import()
 * is a chunk of its own, loaded when reached.
 */
export async function staticImports(entry: string): Promise<{ inputs: string[]; builtins: string[] }> {
  const { metafile } = await build({
    entryPoints: [entry],
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
  const name = entry.split("/").pop()!;
  const start = Object.keys(outputs).find((k) => outputs[k]!.entryPoint?.endsWith(name))!;
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
  walk(start);
  return { inputs: [...inputs], builtins: [...builtins] };
}
