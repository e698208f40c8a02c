import { resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { staticImports } from "@wasm-shims/test-lab/import-graph.ts";
import { describe, expect, it } from "vitest";

const src = resolve(import.meta.dirname, "../../src");

/** What a module loads before it runs (a dynamic import() is a separate chunk, loaded when reached). */
const staticGraph = (file: string) => staticImports(resolve(src, file));

/** Everything a one-file CommonJS bundle of `file` holds: esbuild inlines what import() reaches too. */
async function wholeGraph(file: string): Promise<{ inputs: string[]; builtins: string[] }> {
  const { metafile } = await build({
    entryPoints: [resolve(src, file)],
    bundle: true,
    format: "cjs",
    platform: "node",
    outfile: "/nonexistent/boot.cjs",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  // What the output holds (bytesInOutput), not every file esbuild read and then shook out.
  const output = Object.values((metafile as Metafile).outputs)[0]!;
  const inputs = Object.entries(output.inputs)
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([name]) => name);
  const builtins = output.imports.filter((imp) => imp.external).map((imp) => imp.path);
  return { inputs, builtins: [...new Set(builtins)] };
}

const GENERATED = /\/gen\/|protobuf\/dist\/esm\/(wkt|codegenv2)\//;

// Every container boots the executable for `start`, the daemon (once per pod), the runner and
// `delete`; the generated protobuf descriptors take tens of ms to build and node:http2 as long to
// load, so these paths must reach them only when they need them.
describe("what each boot of the shim loads", () => {
  it("every boot (main.ts, and the assets module the build injects) loads no protobuf, crypto, http2 or worker_threads", async () => {
    for (const file of ["cli/main.ts", "sea/assets.ts"]) {
      const { inputs, builtins } = await staticGraph(file);
      expect(
        inputs.filter((i) => GENERATED.test(i)),
        file,
      ).toEqual([]);
      expect(
        builtins.filter((b) => ["node:crypto", "node:http2", "node:worker_threads"].includes(b)),
        file,
      ).toEqual([]);
    }
  });

  // Built-in modules cost a boot 2-12 ms each to load (--cpu-prof of `delete`): node:crypto for a
  // socket name's hash, node:worker_threads to tell a thread, node:child_process for a start or a
  // delete that usually runs nothing, node:net for a delete that usually has no socket to check.
  it("start and delete load no generated protobuf code, and only the built-in modules they use", async () => {
    const unwanted = {
      "cli/start.ts": ["node:crypto", "node:worker_threads", "node:http2", "node:child_process"],
      "cli/delete.ts": ["node:crypto", "node:worker_threads", "node:http2", "node:child_process", "node:net"],
    };
    for (const [file, names] of Object.entries(unwanted)) {
      const { inputs, builtins } = await staticGraph(file);
      expect(inputs.length).toBeGreaterThan(3);
      expect(builtins, file).toContain("node:fs");
      expect(
        inputs.filter((i) => GENERATED.test(i)),
        file,
      ).toEqual([]);
      expect(
        builtins.filter((b) => names.includes(b)),
        file,
      ).toEqual([]);
    }
  });

  // So that the checks above cannot pass by seeing nothing: the same walk finds the generated
  // code the daemon's Task service loads.
  it("finds generated code where it is loaded", async () => {
    const { inputs } = await staticGraph("cli/daemon.ts");
    expect(inputs.some((i) => GENERATED.test(i) && i.includes("/gen/wire/containerd/task/v2/"))).toBe(true);
  });

  // Building protobuf-es's descriptors and registry for the Task API took a daemon's boot about
  // 50 ms: the daemon has its own codec (src/wire) and the protobuf-es code only for its types.
  it("the daemon loads no protobuf-es descriptors, only its binary reader and writer", async () => {
    const { inputs } = await staticGraph("cli/daemon.ts");
    const protobufEs = inputs.filter((i) => i.includes("@bufbuild/protobuf/"));
    expect(protobufEs.some((i) => i.endsWith("wire/binary-encoding.js"))).toBe(true);
    expect(protobufEs.filter((i) => !/\/(wire\/[a-z-]+|proto-int64|reflect\/names)\.js$/.test(i))).toEqual([]);
    expect(inputs.filter((i) => i.endsWith("_pb.ts"))).toEqual([]);
  });

  // The executable's main script is the boot script: `start` and `delete` compile only it. It is
  // one file, so whatever it reaches even through import() is compiled with it; what start and
  // delete seldom need (tracing, runc) comes from the bundle instead.
  it("the boot script holds start and delete and none of the rest", async () => {
    const { inputs, builtins } = await wholeGraph("cli/boot-main.ts");
    for (const file of ["cli/start.ts", "cli/delete.ts", "cli/start-input.ts"])
      expect(inputs.some((i) => i.endsWith(`src/${file}`))).toBe(true);
    const unwanted =
      /\/gen\/|protobuf\/dist\/esm\/(wkt|codegenv2|registry)|opentelemetry|\/runc\/|\/task\/service|\/wasm\/runner\.ts|sea\/native/;
    expect(inputs.filter((i) => unwanted.test(i))).toEqual([]);
    expect(builtins.filter((b) => ["node:crypto", "node:http2", "node:worker_threads", "node:vm"].includes(b))).toEqual(
      [],
    );
    // And the same check sees the rest where it is: the whole bundle holds runc and the Task service.
    const whole = await wholeGraph("cli/main.ts");
    expect(whole.inputs.filter((i) => unwanted.test(i)).length).toBeGreaterThan(20);
  });

  it("the daemon loads node:http2 only when it calls containerd's API", async () => {
    const { builtins, inputs } = await staticGraph("cli/daemon.ts");
    expect(inputs.some((i) => i.endsWith("containerd/grpc.ts"))).toBe(true);
    expect(builtins).toContain("node:net");
    expect(builtins).not.toContain("node:http2");
    // Nor containerd's metadata services (content, images, leases), whose descriptors are the
    // largest: only an image whose module is not a file in its rootfs calls them.
    expect(inputs.filter((i) => /\/gen\/(wire\/)?containerd\/services\//.test(i))).toEqual([]);
  });
});
