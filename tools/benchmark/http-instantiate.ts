import { instanceFactory, loadCoreModules, type CoreModules } from "../../packages/shim-jco/src/http/instances.ts";
import { httpImports } from "../../packages/shim-jco/src/http/thread.ts";
import { loadComponent } from "../../packages/shim-jco/src/run.ts";
import { transpileModule } from "../../packages/shim-jco/src/transpile.ts";
import { round, summarize } from "./stats.ts";

/**
 * What one fresh instance costs, measured in this process with the shim's own code: the CPU time
 * of making an instance (jco's JavaScript glue plus the core instances) with memory images and
 * recycled memories, as served, and without them (each core module instantiated as transpiled,
 * V8 applying its data segments to new memory). Fresh-instance serving pays this per request.
 */
export interface InstantiateResult {
  label: string;
  /** CPU ms per instance as served (memory images, recycled memories). */
  imagedMs: number;
  /** CPU ms per instance without memory images. */
  plainMs: number;
  /** The largest core module, and its memory. */
  coreMB: number;
  memoryMB: number;
}

function cpuPerCall(fn: () => void, n: number): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    samples.push((c.user + c.system) / 1000);
  }
  return round(summarize(samples).median, 2);
}

export async function instantiateCosts(
  components: { label: string; bytes: Uint8Array }[],
  n: number,
): Promise<InstantiateResult[]> {
  const out: InstantiateResult[] = [];
  for (const { label, bytes } of components) {
    const t = await transpileModule(bytes, label);
    const imaged = await loadCoreModules(t.files);
    const plain: CoreModules = { modules: {}, images: {} };
    for (const name of Object.keys(imaged.modules))
      plain.modules[name] = await WebAssembly.compile(t.files[name] as Uint8Array<ArrayBuffer>);
    const imports = await httpImports({
      path: "/x.wasm",
      args: ["x.wasm"],
      env: {},
      cwd: "/",
      stdin: 0,
      stdout: 1,
      stderr: 2,
      data: {},
    });
    const instantiate = (await loadComponent(t.files)) as never;
    const withImages = instanceFactory(instantiate, imports, imaged, 2);
    const without = instanceFactory(instantiate, imports, plain, 2);
    const largest = Object.entries(t.files)
      .filter(([n]) => n.endsWith(".wasm"))
      .sort((a, b) => b[1].length - a[1].length)[0]!;
    const image = imaged.images[largest[0]];
    out.push({
      label,
      imagedMs: cpuPerCall(() => withImages().retire(), n),
      plainMs: cpuPerCall(() => without().retire(), n),
      coreMB: round(largest[1].length / 1e6, 1),
      memoryMB: round(((image?.initialPages ?? 0) * 65536) / 1e6, 1),
    });
  }
  return out;
}
