import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeOciImage, yosysModule } from "@wasm-shims/test-fixtures";
import type { Bench, Case } from "./harness.ts";
import type { CaseResult } from "./coldstart.ts";
import type { HostFloor } from "./host-floor.ts";
import { f, table } from "./markdown.ts";

/**
 * A large module that others built: Yosys from the pinned @yowasp/yosys, a 31 MB WASI preview1
 * command, run as `yosys -V` from an image of its own. "first" has no verdict of an earlier
 * Create (the node state the bench's shims keep is emptied before each), "again" is every later
 * container of the same module, which compiles nothing at Create (docs/architecture.md).
 */
export const largeImageRef = "localhost/wasm-large:bench";
const MODULE = "/yosys.wasm";

export const largeModuleMb = (): number => statSync(yosysModule).size / 1e6;

export async function writeLargeImage(tarball: string): Promise<void> {
  await writeOciImage(tarball, {
    ref: largeImageRef,
    files: [{ path: MODULE, source: yosysModule, mode: 0o755 }],
    entrypoint: [MODULE],
    env: ["PATH=/"],
    os: "wasip1",
    architecture: "wasm",
  });
}

export const largeLabel = (engine: string, when: "first" | "again") =>
  `${engine}, ${Math.round(largeModuleMb())} MB module (${when})`;

/** Whether a cold-start case is one of these (its own section, not the hello.wasm comparisons). */
export const isLargeModuleCase = (label: string): boolean => / MB module \((first|again)\)$/.test(label);

export function largeModuleCases(b: Bench, engine: string): Case[] {
  const large = { engine, image: largeImageRef, args: [MODULE, "-V"] };
  return [
    {
      ...large,
      label: largeLabel(engine, "first"),
      before: () => rmSync(join(b.state, "verified"), { recursive: true, force: true }),
    },
    { ...large, label: largeLabel(engine, "again") },
  ];
}

/** The section of docs/benchmarks.md: each engine's large module against its hello.wasm, and both on the host. */
export function largeModuleSection(
  cases: readonly CaseResult[],
  engines: readonly string[],
  host: HostFloor | undefined,
): string {
  // What the module costs by itself: the same two runs on the host, with no shim and no container.
  const own = host && !host.error ? host.largeMs.median - host.helloMs.median : undefined;
  const rows: string[][] = [];
  for (const e of engines) {
    const hello = cases.find((c) => c.label === (e === "jco" ? "jco (warm cache)" : e));
    const first = cases.find((c) => c.label === largeLabel(e, "first"));
    const again = cases.find((c) => c.label === largeLabel(e, "again"));
    if (!hello || !first || !again) continue;
    const ratio = again.wallMs.median / hello.wallMs.median;
    const extra = again.wallMs.median - hello.wallMs.median;
    rows.push([
      e,
      f(hello.wallMs.median),
      f(first.wallMs.median),
      f(again.wallMs.median),
      f(ratio, 2),
      ratio <= 1.1 ? "met" : "not met",
      f(extra),
      own === undefined ? "–" : f(extra - own),
    ]);
  }
  if (rows.length === 0) return "No large-module case was measured in this run.";
  return [
    `\`yosys -V\` from a ${f(largeModuleMb(), 1)} MB module (Yosys, built by YoWASP and pinned through the lockfile), interleaved with the cold-start cases above and measured the same way (medians). "first": the shims' verdicts on modules were removed before each container, so Create validates the module (V8 compiles it) and checks its imports; "again": a later container of the same bytes, whose Create finds the verdict and skips both. Inside the container, node (and jco for core modules) compiles the module with lazy validation, each function when first called; wasmer packages a stand-in for its SDK (the module's interface, no code or data) and hands the SDK the module itself, compiled the same way, when it compiles the stand-in as it spawns the guest (docs/architecture.md).`,
    "",
    table(
      [
        "engine",
        "hello.wasm ms",
        "first container ms",
        "again ms",
        "again × hello",
        "target ≤ 1.10×",
        "again − hello ms",
        "of which the shim's ms",
      ],
      rows,
    ),
    "",
    hostLine(host, own, Math.max(...rows.map((r) => Number(r[1])))),
  ].join("\n");
}

function hostLine(host: HostFloor | undefined, own: number | undefined, slowestHello: number): string {
  if (!host) return "The modules were not run on the host in this run.";
  if (host.error || own === undefined) return `The run on the host failed: ${host.error ?? "no figures"}.`;
  return `On the host, each in a fresh process of the Node the shims embed (node:wasi, lazy validation, the runner's glibc tunables: 2 MB pages for the large one; no containerd, no shim; ${host.rounds} interleaved rounds, \`tools/benchmark/host-run.mjs\`): hello.wasm ${f(host.helloMs.median)} ms, \`yosys -V\` ${f(host.largeMs.median)} ms. The ${f(own)} ms between them are the module's own start-up (reading ${f(largeModuleMb(), 0)} MB, compiling lazily, instantiating, Yosys's static constructors): they stay whatever the shim does${own > 0.1 * slowestHello ? `, and alone exceed the target's 10 % for every engine (at most ${f(0.1 * slowestHello)} ms, of the slowest hello container)` : ""}. "Of which the shim's" is again − hello less those ${f(own)} ms.`;
}
