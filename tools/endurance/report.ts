import type { Results } from "./results.ts";
import type { ProcSample } from "./sample.ts";

export const beginMarker = "<!-- tools/reliability: generated section begins; edits inside are overwritten -->";
export const endMarker = "<!-- tools/reliability: generated section ends -->";

const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

const left = (l: readonly string[]): string => (l.length === 0 ? "nothing" : `**${l.length}**`);
const firstLast = (xs: readonly ProcSample[], key: "rssMB" | "pssMB" | "fds", digits = 1): string =>
  xs.length === 0 ? "–" : `${f(xs[0]![key], digits)} → ${f(xs.at(-1)![key], digits)}`;
const dur = (s: number): string => (s >= 3600 ? `${f(s / 3600, 2)} h` : s >= 120 ? `${f(s / 60, 1)} min` : `${s} s`);

/** PSS (or another figure) at eleven evenly spaced moments, so the shape is visible without a chart. */
function curve(samples: readonly ProcSample[], key: "pssMB" | "anonMB" = "pssMB"): string {
  if (samples.length === 0) return "–";
  const picks = Array.from(
    { length: Math.min(11, samples.length) },
    (_, i) => samples[Math.round((i * (samples.length - 1)) / Math.max(1, Math.min(10, samples.length - 1)))]!,
  );
  return picks.map((s) => f(s[key], 1)).join(" ");
}

function cyclesSection(r: Results): string {
  if (r.cycles.length === 0) return "Not run.";
  const rows = r.cycles.map((c) => {
    const cps = c.checkpoints.map((cp) => cp.containerd);
    return [
      c.engine,
      String(c.cycles),
      String(c.ok),
      String(c.failed),
      f(c.wallMs.median),
      f(c.wallMs.p90),
      f(c.wallMs.max),
      dur(c.durationS),
      firstLast(cps, "rssMB"),
      firstLast(cps, "fds", 0),
      String(c.checkpoints.filter((cp) => cp.leftovers.length > 0).length),
      left(c.leftovers),
    ];
  });
  return table(
    [
      "engine",
      "cycles",
      "ok",
      "failed",
      "median ms",
      "p90 ms",
      "max ms",
      "took",
      "containerd RSS MB (start → end)",
      "containerd fds",
      "checkpoints with leftovers",
      "left at the end",
    ],
    rows,
  );
}

function criSection(r: Results): string {
  if (r.cri.length === 0) return "Not run.";
  const rows = r.cri.map((c) => {
    const fl = c.daemon.flatness;
    return [
      c.handler,
      `${c.ok}/${c.containers}`,
      f(c.containerMs.median),
      f(c.containerMs.p90),
      `${c.probes.ok}/${c.probes.sent}`,
      f(c.probes.latencyMs.median),
      f(c.probes.latencyMs.p90),
      firstLast(c.daemon.samples, "pssMB"),
      firstLast(c.daemon.samples, "fds", 0),
      fl.verdict,
      dur(c.durationS),
      left(c.leftovers),
    ];
  });
  return table(
    [
      "handler",
      "containers ok",
      "median ms each",
      "p90 ms",
      "exec probes ok",
      "probe median ms",
      "probe p90 ms",
      "daemon PSS MB (start → end)",
      "daemon fds",
      "memory",
      "took",
      "left",
    ],
    rows,
  );
}

function soakSection(r: Results): string {
  if (r.soak.length === 0) return "Not run.";
  const rows = r.soak.map((s) => {
    const fl = s.daemon.flatness;
    return [
      s.engine,
      dur(s.durationS),
      `${s.linesEchoed}/${s.linesSent}`,
      String(s.outOfOrder),
      f(s.echoMs.median, 1),
      f(s.echoMs.p90, 1),
      `${s.stats.ok}/${s.stats.ok + s.stats.failed}`,
      `${s.execs.ok}/${s.execs.ok + s.execs.failed}`,
      f(fl.meanPssMB, 1),
      f(fl.pssSlopeMBPerHour, 2),
      f(fl.rssSlopeMBPerHour, 2),
      `${f(fl.anonSlopeMBPerHour, 2)} / ${f(fl.fileSlopeMBPerHour, 2)}`,
      String(fl.fdGrowth),
      `**${fl.verdict}**`,
      `${s.bundleEntries.min}–${s.bundleEntries.max}`,
      `${s.exitCode} (${s.endedBy})`,
    ];
  });
  const curves = r.soak.flatMap((s) => [
    [`${s.engine} daemon`, curve(s.daemon.samples)],
    [`${s.engine} runc`, curve(s.runc.samples)],
    [`${s.engine} runner`, curve(s.runner.samples)],
  ]);
  return [
    table(
      [
        "engine",
        "ran",
        "lines echoed",
        "out of order",
        "echo median ms",
        "echo p90 ms",
        "Stats ok",
        "execs ok",
        "daemon PSS MB (mean after warm-up)",
        "PSS MB/h",
        "RSS MB/h",
        "RSS anon / file MB/h",
        "fd growth",
        "memory",
        "bundle entries",
        "exit (ended by)",
      ],
      rows,
    ),
    "",
    `PSS (MB) over the run, at eleven evenly spaced samples (every ${r.settings.sampleS} s in all):`,
    "",
    table(["process", "PSS MB from start to end"], curves),
    "",
    `Left by the soak's containerd once its tasks were gone: ${r.soakLeftovers.length === 0 ? "nothing" : r.soakLeftovers.join("; ")}.`,
  ].join("\n");
}

function idleSection(r: Results): string {
  if (!r.idle) return "Not run.";
  const rows = r.idle.processes.map((p) => {
    const fl = p.flatness;
    return [
      p.name,
      String(p.samples.length),
      f(fl.meanPssMB, 1),
      f(fl.anonSlopeMBPerHour, 2),
      f(fl.fileSlopeMBPerHour, 2),
      f(fl.pssSlopeMBPerHour, 2),
      `**${fl.verdict}**`,
      curve(p.samples, "anonMB"),
    ];
  });
  return table(
    [
      "process",
      "samples",
      "PSS MB (mean after warm-up)",
      "RSS anon MB/h",
      "RSS file MB/h",
      "PSS MB/h",
      "memory",
      "RSS anon MB from start to end (eleven samples)",
    ],
    rows,
  );
}

function failures(r: Results): string {
  const lines: string[] = [];
  for (const c of r.cycles) for (const x of c.failures) lines.push(`- cycles ${c.engine} #${x.at}: ${x.what}`);
  for (const c of r.cri)
    for (const x of [...c.failures, ...c.probes.failures]) lines.push(`- cri ${c.engine} #${x.at}: ${x.what}`);
  for (const s of r.soak) for (const x of s.failures) lines.push(`- soak ${s.engine} #${x.at}: ${x.what}`);
  return lines.length === 0
    ? "None."
    : lines
        .slice(0, 30)
        .map((l) => l.replace(/\n/g, " "))
        .join("\n");
}

/** The generated part of docs/reliability.md. */
export function report(r: Results): string {
  const m = r.machine;
  const s = r.settings;
  const rule = r.flatRule;
  return `${beginMarker}

### Last run

\`${r.command}\` on ${r.date} took ${dur(r.durationS)}${r.quick ? " (the short version CI runs)" : ""}. Shims: ${r.engines.map((e) => `${e} ${r.versions[e] ?? ""}`).join(", ")}. Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}, kernel ${m.kernel} (cgroup ${m.cgroup}), ${m.containerd}, ${m.runc.replace(/\n.*/s, "")}; shared with other work, so times are indicative only.

**Verdict: ${r.problems.length === 0 ? "passed — nothing failed, nothing was left, memory flat where the run was long enough to tell" : `${r.problems.length} problem(s)`}.**
${r.problems.map((p) => `\n- ${p}`).join("")}

#### ${s.cycles} \`ctr run --rm\` cycles per engine

${cyclesSection(r)}

#### ${s.criContainers} containers in one CRI pod per engine, exec probe every ${s.probeIntervalS} s

${criSection(r)}

#### One task per engine for ${dur(s.soakS)}, a line echoed every ${s.lineIntervalMs} ms

Samples every ${s.sampleS} s (with a Stats call each, and an exec every ${s.execEverySamples} samples). Memory counts as flat when, after leaving out the first ${rule.warmupFraction * 100} % of the samples, the least-squares line of PSS and of RSS rises by at most ${rule.maxSlopeMBPerHour} MB per hour and the open fds grow by at most ${rule.maxFdGrowth}; with fewer than ${rule.minSamples} samples or ${rule.minSpanS / 60} minutes after warm-up the verdict is "too short".

${soakSection(r)}

#### Idle: one task per engine that does nothing, for ${r.idle ? dur(r.idle.durationS) : "–"}, beside bare Node

Each engine's daemon with one task running the sleep guest (nothing reaches the daemon), next to two processes of the Node the shims embed started bare: one with nothing to do, one with a timer as often as the daemon's orphan watch (0.7 s). The controls show what Node and glibc gain over time with none of the shim's code; only the daemons are judged, by the rule above. jco's cache starts empty, so its daemon's Create transpiles.

${idleSection(r)}

#### Failures (first ones, verbatim)

${failures(r)}

${endMarker}`;
}

/** Replaces the generated section of `doc` (or appends one). */
export function splice(doc: string, section: string): string {
  const a = doc.indexOf(beginMarker);
  const b = doc.indexOf(endMarker);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${section}\n`;
  return `${doc.slice(0, a)}${section}${doc.slice(b + endMarker.length)}`;
}
