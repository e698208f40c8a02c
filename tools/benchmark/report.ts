import { phaseLabels, phaseNames } from "./phases.ts";
import type { Results } from "./results.ts";
import { httpSection } from "./http-report.ts";
import { f, range, spread, table } from "./markdown.ts";
import { whereSection } from "./report-where.ts";
import { largeModuleSection } from "./large-module.ts";
import { memorySection } from "./memory.ts";
import { statsSection } from "./task-stats.ts";

function machineSection(r: Results): string {
  const m = r.machine;
  return table(
    ["", ""],
    [
      ["CPU", `${m.cpu}, ${m.cores} cores`],
      ["memory", `${m.memGiB} GiB`],
      ["OS, kernel", `${m.os}, ${m.kernel} (cgroup ${m.cgroup})`],
      ["containerd", m.containerd],
      ["runc", m.runc.replace(/\n.*/s, "")],
      ["runtime Node", m.node],
      ["shims", r.engines.map((e) => `${e} ${r.versions[e] ?? ""}`).join(", ")],
    ],
  );
}

function coldSection(r: Results): string {
  const rows = r.coldStart.map((c) => [
    c.label,
    String(c.runs),
    f(c.wallMs.median),
    spread(c.wallMs),
    range(c.wallMs),
    c.engine === "runc" ? "1" : f(c.ratioToRunc, 2),
    c.error ? `${c.failures} failed: ${c.error.replace(/\|/g, "/").replace(/\n/g, " ").slice(0, 120)}` : "",
  ]);
  return table(["case", "runs", "median ms", "p10–p90", "min–max", "× runc", "note"], rows);
}

function phaseSection(r: Results): string {
  const cases = r.coldStart.filter((c) => c.runs > 0);
  const used = phaseNames.filter((p) => cases.some((c) => c.phases[p]));
  const rows = used.map((p) => [
    phaseLabels[p],
    ...cases.map((c) => (c.phases[p] ? `${f(c.phases[p].median)}${c.largest === p ? " **(largest)**" : ""}` : "–")),
  ]);
  return table(["phase (median ms)", ...cases.map((c) => c.label)], rows);
}

function densitySection(r: Results): string {
  const runcOf = (n: number) => r.density.find((d) => d.engine === "runc" && d.n === n);
  const rows = r.density.map((d) => {
    const base = runcOf(d.n);
    const ratio =
      base?.perTask && d.perTask && d.engine !== "runc"
        ? f(d.perTask.pss / base.perTask.pss, 1)
        : d.engine === "runc"
          ? "1"
          : "–";
    return [
      d.label,
      String(d.n),
      f(d.allRunningMs),
      f(d.startRate, 1),
      f(d.total?.rss),
      f(d.total?.pss),
      f(d.perTask?.rss, 1),
      f(d.perTask?.pss, 1),
      f(d.perTask?.cgroup, 1),
      ratio,
      d.error ? d.error.slice(0, 120) : "",
    ];
  });
  return table(
    [
      "tasks",
      "N",
      "all RUNNING ms",
      "tasks/s",
      "Σ RSS MB",
      "Σ PSS MB",
      "RSS/task MB",
      "PSS/task MB",
      "cgroup/task MB",
      "PSS/task × runc",
      "note",
    ],
    rows,
  );
}

function computeSection(r: Results): string {
  const rows = r.compute.map((c) => [
    c.label,
    String(c.runs),
    f(c.computeMs?.median),
    spread(c.computeMs),
    c.label === "native" ? "1" : f(c.ratioToNative, 2),
    f(c.wallMs?.median),
    c.label === "native" ? "1" : f(c.wallRatioToNative, 2),
    c.error ? c.error.slice(0, 120) : "",
  ]);
  return table(
    ["run", "runs", "compute ms (median)", "p10–p90", "× native", "ctr run wall ms", "wall × native", "note"],
    rows,
  );
}

function binarySection(r: Results): string {
  return table(
    ["shim", "size MB", "JS bundle kB", "`-v` median ms", "p10–p90", "min–max", "runs"],
    r.binary.map((b) => [
      b.engine,
      f(b.sizeMB, 1),
      f(b.bundleKB),
      f(b.versionMs.median),
      spread(b.versionMs),
      range(b.versionMs),
      String(b.versionMs.n),
    ]),
  );
}

function jcoSection(r: Results): string {
  const empty = r.coldStart.find((c) => c.label === "jco (empty cache)");
  const warm = r.coldStart.find((c) => c.label === "jco (warm cache)");
  if (!empty || !warm) return "No `containerd-shim-jco-v1` was measured in this run.";
  const saved = empty.wallMs.median - warm.wallMs.median;
  return [
    `Both cases run hello.wasm with \`WASM_SHIM_JCO_CACHE\` pointing at the same directory; the empty case clears it before each container. Interleaved with the other cases above.`,
    "",
    table(
      ["cache", "runs", "median ms", "p10–p90", "× runc", "largest phase"],
      [empty, warm].map((c) => [
        c.label,
        String(c.runs),
        f(c.wallMs.median),
        spread(c.wallMs),
        f(c.ratioToRunc, 2),
        c.largest ? `${phaseLabels[c.largest]} (${f(c.phases[c.largest]?.median)} ms)` : "–",
      ]),
    ),
    "",
    Number.isFinite(saved)
      ? `A warm cache saves ${f(saved)} ms of the median cold start (${f((saved / empty.wallMs.median) * 100)} %).`
      : "",
  ].join("\n");
}

function criSection(r: Results): string {
  const head = `\`${r.cri.script}\` exited with ${r.cri.code}.${r.cri.error ? ` Its error output ended with:\n\n\`\`\`\n${r.cri.error}\n\`\`\`` : ""}`;
  const variants = criVariants(r.cri.data);
  if (variants) {
    const base = variants["runc/busybox"]?.medianMs?.total;
    const rows = Object.entries(variants).map(([name, v]) => [
      name,
      String(v.runs ?? 0),
      f(v.medianMs?.total),
      f(v.medianMs?.runPod),
      f(v.medianMs?.create),
      f(v.medianMs?.start),
      `${f(v.minMs)}–${f(v.maxMs)}`,
      base && v.medianMs ? f(v.medianMs.total / base, 2) : "–",
      v.error ? v.error.slice(0, 120) : "",
    ]);
    const what = (r.cri.data as { what?: string }).what ?? "";
    return `${head} ${what}; medians in ms; \`wasm-E/busybox\` runs busybox under the Wasm handler (the shim's own cost without an engine).\n\n${table(["pod (handler/container)", "runs", "total", "RunPodSandbox", "CreateContainer", "StartContainer", "min–max", "× runc", "note"], rows)}`;
  }
  const body =
    r.cri.data !== undefined
      ? `\`\`\`json\n${JSON.stringify(r.cri.data, null, 2)}\n\`\`\``
      : `\`\`\`\n${r.cri.text ?? ""}\n\`\`\``;
  return `${head}\n\n${body}`;
}

interface CriVariant {
  runs?: number;
  medianMs?: { total: number; runPod: number; create: number; start: number };
  minMs?: number;
  maxMs?: number;
  error?: string;
}

/** The pod-start script's `variants` map, when its output has that shape. */
export function criVariants(data: unknown): Record<string, CriVariant> | undefined {
  const v = (data as { variants?: unknown } | undefined)?.variants;
  return v && typeof v === "object" ? (v as Record<string, CriVariant>) : undefined;
}

function binaryTool(r: Results): string {
  const tools = new Set(r.binary.map((b) => b.tool));
  return [...tools]
    .map((t) =>
      t === "hyperfine" ? " with hyperfine `-N`" : " by this tool's own clock around a spawn, after three warm-up runs",
    )
    .join(" and");
}

export function report(r: Results): string {
  return `# Benchmarks

Every figure below comes from one run of:

\`\`\`
${r.command}
\`\`\`

(${r.date}, ${r.durationS} s${r.quick ? ", quick sizes" : ""}). It builds the test images, starts a private containerd (debug log), measures every \`dist/bin/containerd-shim-*-v1\` beside runc in the same run, and writes this file, \`benchmarks.svg\` and \`benchmarks.json\`. \`tools/bench --compare OLD.json NEW.json\` prints the ratio of every metric between two runs.

![cold start and memory per task](benchmarks.svg)

## Machine

${machineSection(r)}

The machine is shared and noisy: cases are interleaved (each round runs every case once, in a rotated order), figures are medians with their p10–p90 spread, and every ratio compares two medians from the same run.

## Method

- **Binary**: file size, and \`<shim> -v\` (process start to exit)${binaryTool(r)}.
- **Cold start**: \`ctr run --rm\` of \`hello.wasm\` (fixtures image) per engine, and \`ctr run --rm localhost/busybox:test ID /bin/busybox echo hi\` with the default runc runtime; wall time from spawning ctr to its exit, one container at a time, after one unrecorded warm-up round. Each shim's \`start\` finds the spare daemon the previous container's daemon left (docs/architecture.md), as on a node that has run a pod of that engine since containerd started; the first pod after that pays the daemon's boot as well. The phases come from containerd's debug log: the shim's own lines (\`spawned daemon\` or \`adopted a spare daemon\` with its \`ms\` since exec, \`serving\`, \`created\`, \`started\`, \`exited\`), containerd's (\`prepare snapshot\`; for runc's shim \`starting signal loop\` and the forwarded \`/tasks/*\` events, which lag slightly), and this tool's clock (ctr spawn, first stdout byte, ctr exit). Boundaries are kept in order, so a late event's lag lands in the phase before it.
- **Memory**: one idle task per engine (\`sleep.wasm 3600000\`; runc: \`busybox sleep 3600\`), sampled six times, 0.5 s apart, from 11 s after it started (a daemon compacts its heap 10 s after it serves, the runner when its guest first waits: docs/architecture.md, "Memory"): the shim's process and all its descendants (runc, the container's processes), and the engine's spare daemon waiting for the next pod (counted in the shim's part), from \`/proc\` (VmRSS, VmHWM, PSS from \`smaps_rollup\`), and the container's memory cgroup. The shims run from copies in the run's own folder: how a file was written decides its page-cache folio sizes, and so how much of the executable a process maps (the same idle node task: 151 MB RSS from the build's own file, 124 MB from a copy). The floor under them: ten idle processes side by side (\`-e "setInterval(…)"\`) of the build's stripped copy of Node with the executables' V8 flags, PSS and RssAnon of each 2 s after they start, the median (\`tools/benchmark/bare-node.ts\`).
- **Density**: N such tasks started at once with \`ctr run -d\`; "all RUNNING" is when the last ctr returned (its task started), checked against \`ctr tasks ls\`; memory as above, summed, 11 s later. Everything is killed and removed afterwards.
- **HTTP**: wrk against wasi:http components served by the jco shim and against a plain Node \`http\` server (details in its section).
- **Compute**: \`tools/benchmark/compute.c\` (SHA-256 over a 1 MiB buffer, chained) built with Debian's clang for wasm32-wasi and natively (static), both in a temporary directory; the native build runs through runc. "compute ms" is what the program measured around its loop (start-up excluded); the wall time is the whole \`ctr run --rm\`.

## Binary

${binarySection(r)}

## Cold start

${coldSection(r)}

### Phases

${phaseSection(r)}

## Memory, one idle task

${memorySection(r.memory)}

## Stats, as kubelet asks for them

Each idle task above, after its memory was sampled: \`ctr task metrics\` 40 times in a row, each a Stats call to the task's shim through containerd (kubelet's eviction manager asks for every container's stats every 10 s, metrics-server more). CPU is the shim process's own and that of the children it waited for (\`/proc/<pid>/stat\`, 10 ms ticks over all calls), divided by the calls.

${statsSection(r.memory)}

## Density

${densitySection(r)}

## Compute

${computeSection(r)}

## HTTP serving (wasi:http, jco)

${httpSection(r.http)}

## jco transpile cache

${jcoSection(r)}

## A large module

${largeModuleSection(r.coldStart, r.engines, r.hostFloor)}

## CRI pod start

${criSection(r)}

## Where the time goes

${whereSection(r)}

For reference, runwasi's published figures, as quoted in the project's benchmark issue, are 223–318 ms for \`ctr run --rm\` and 15–66 MB peak RSS per task (shim and zygote) on its CI machines; the runc baseline above is the comparison measured on this machine.
${r.leftovers.length > 0 ? `\nLeft on the host after the run: ${r.leftovers.join("; ")}\n` : ""}`;
}
