// Time from RunPodSandbox to a RUNNING container, over containerd's CRI socket as kubelet drives it:
// a Wasm container in a pod of each engine's RuntimeClass handler, beside the same pod shape with a
// busybox container under runc (and busybox under the Wasm handler, which separates the shim's own
// cost from the engine's). Variants are interleaved run by run, so machine noise hits all alike.
//
//   NODE tools/benchmark/cri-pod-start.ts [--runs N] [--quick] [--engine E]... [--shim-dir DIR] [--json FILE]
//
// Prints JSON (medians and every sample, in ms) on stdout; progress goes to stderr. As root.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ContainerSpec, CriNode as CriNodeType, CriRuntime } from "@wasm-shims/test-lab/cri-node.ts";
import { median, round } from "./stats.ts";

// The generated CRI messages have TypeScript enums, which Node's default type stripping rejects.
if (!process.execArgv.includes("--experimental-transform-types")) {
  const flags = ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", ...process.execArgv];
  const r = spawnSync(process.execPath, [...flags, import.meta.filename, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
const { ContainerState } = await import("@wasm-shims/test-lab/cri-client.ts");
const { CriNode } = await import("@wasm-shims/test-lab/cri-node.ts");
type CriNode = CriNodeType;

const repoRoot = join(import.meta.dirname, "..", "..");
const { values } = parseArgs({
  options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    engine: { type: "string", multiple: true },
    "shim-dir": { type: "string" },
    json: { type: "string" },
  },
});
const runs = Number(values.runs ?? (values.quick ? 3 : 10));
const shimDir = values["shim-dir"] ?? join(repoRoot, "dist/bin");
const engines = (values.engine ?? ["node", "wasmer", "jco"]).filter((e) =>
  existsSync(join(shimDir, `containerd-shim-${e}-v1`)),
);

interface Variant {
  name: string;
  handler: string;
  container: (node: CriNode) => ContainerSpec;
}

const wasmSleep = (node: CriNode): ContainerSpec => ({
  name: "app",
  image: node.images.fixtures.ref,
  command: ["/sleep.wasm", "100000000"],
});
const busyboxSleep = (node: CriNode): ContainerSpec => ({
  name: "app",
  image: node.images.busybox.ref,
  command: ["/bin/sleep", "100000"],
});
const variants: Variant[] = [
  { name: "runc/busybox", handler: "", container: busyboxSleep },
  ...engines.flatMap((e) => [
    { name: `wasm-${e}/wasm`, handler: `wasm-${e}`, container: wasmSleep },
    { name: `wasm-${e}/busybox`, handler: `wasm-${e}`, container: busyboxSleep },
  ]),
];

interface Sample {
  runPod: number;
  create: number;
  start: number;
  /** RunPodSandbox called → ContainerStatus first says RUNNING. */
  total: number;
}

async function once(node: CriNode, v: Variant, i: number): Promise<Sample> {
  const t0 = performance.now();
  const pod = await node.runPod(`bench-${i}`, v.handler);
  const t1 = performance.now();
  const id = await pod.create(v.container(node));
  const t2 = performance.now();
  await node.cri.runtime.startContainer({ containerId: id });
  const t3 = performance.now();
  // Poll tightly: the point is when CRI first reports RUNNING, not kubelet's 1 s PLEG period.
  for (;;) {
    const { status } = await node.cri.runtime.containerStatus({ containerId: id });
    if (status?.state === ContainerState.CONTAINER_RUNNING) break;
    if (status?.state === ContainerState.CONTAINER_EXITED)
      throw new Error(`${v.name}: container exited: ${status.reason} ${status.message}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const t4 = performance.now();
  await pod.remove();
  return { runPod: t1 - t0, create: t2 - t1, start: t3 - t2, total: t4 - t0 };
}

const runtimes: Record<string, CriRuntime> = Object.fromEntries(
  engines.map((e) => [`wasm-${e}`, { type: `io.containerd.${e}.v1` }]),
);
const node = await CriNode.start({ shimDir, runtimes });
const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
const errors: Record<string, string> = {};
try {
  // One unmeasured round first: image unpacking and page cache would otherwise land on run 1.
  for (let i = -1; i < runs; i++) {
    for (const v of variants) {
      if (errors[v.name]) continue;
      try {
        const s = await once(node, v, i + 1);
        if (i >= 0) samples.get(v.name)!.push(s);
        process.stderr.write(`${i < 0 ? "warm-up" : `run ${i + 1}/${runs}`} ${v.name}: ${round(s.total)} ms\n`);
      } catch (e) {
        errors[v.name] = (e as Error).message;
        process.stderr.write(`${v.name}: ${(e as Error).message}\n`);
        for (const pod of [...node.pods]) await pod.remove().catch(() => undefined);
      }
    }
  }
} finally {
  await node.stop();
}

const summary = (xs: Sample[]) => ({
  runs: xs.length,
  medianMs: {
    total: round(median(xs.map((s) => s.total))),
    runPod: round(median(xs.map((s) => s.runPod))),
    create: round(median(xs.map((s) => s.create))),
    start: round(median(xs.map((s) => s.start))),
  },
  minMs: round(Math.min(...xs.map((s) => s.total))),
  maxMs: round(Math.max(...xs.map((s) => s.total))),
  totalsMs: xs.map((s) => round(s.total)),
});
const result = {
  what: "RunPodSandbox → container RUNNING (ContainerStatus), host-network pod, containerd CRI",
  containerd: execFileSync("containerd", ["--version"], { encoding: "utf8" }).trim(),
  engines,
  variants: Object.fromEntries(
    variants.map((v) => [v.name, errors[v.name] ? { error: errors[v.name] } : summary(samples.get(v.name)!)]),
  ),
};
const text = `${JSON.stringify(result, null, 2)}\n`;
if (values.json) writeFileSync(values.json, text);
process.stdout.write(text);
