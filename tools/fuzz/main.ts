// The shim fuzzer: random, mutated and broken ttrpc frames and Task requests against the real
// daemon, for minutes, with a seed so that a failure can be replayed.
// Usage: node tools/fuzz/main.ts [--minutes N] [--seed S] [--engine node] [--json FILE] [--no-unshare]
//        [--mix typed=6,raw=3,slow=1]   (relative weights of the three kinds of traffic)
//        [--binary PATH]                (another build of the shim, e.g. to compare before a fix)
// Exits 1 if the daemon died, stopped answering good requests, answered badly, or leaked.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { CampaignReport } from "./campaign.ts";

// The generated Task messages have TypeScript enums, which Node's default type stripping rejects.
if (!process.execArgv.includes("--experimental-transform-types")) {
  const flags = ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", ...process.execArgv];
  const r = spawnSync(process.execPath, [...flags, import.meta.filename, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}
const { runCampaign } = await import("./campaign.ts");
const { verdict } = await import("./verdict.ts");

const root = resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    seed: { type: "string" },
    engine: { type: "string", default: "node" },
    json: { type: "string" },
    "no-unshare": { type: "boolean", default: false },
    mix: { type: "string" },
    binary: { type: "string" },
  },
});

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const engine = values.engine ?? "node";
const log = (m: string) => process.stderr.write(`${m}\n`);

function print(r: CampaignReport): void {
  const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
  console.log(
    `seed ${r.seed}: ${r.seconds.toFixed(0)} s, ${r.bursts} bursts, ${r.requests} Task requests (${r.requestsPerSecond.toFixed(0)}/s), ${r.rawSessions} raw sessions, ${r.lifecycles} good Create/Start/Wait/Delete`,
  );
  console.log(
    `answers: ${Object.entries(r.answers)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  console.log(
    `daemon rss ${mib(r.rss.startKiB)} -> ${mib(r.rss.endKiB)} (peak ${mib(r.rss.peakKiB)}: ${mib(r.rss.earlyPeakKiB)} in the first half, lowest ${mib(r.rss.lastTroughKiB)} in the last third), fds ${r.fds.start} -> ${r.fds.end}, exit: ${r.daemonExit}`,
  );
  console.log(
    `rss per 10 s (low-high MiB): ${r.rss.seriesKiB.map((w) => `${Math.round(w.low / 1024)}-${Math.round(w.high / 1024)}`).join(" ")}`,
  );
  for (const f of r.findings) console.log(`FINDING ${f.kind} (x${f.count}): ${f.detail}\n  repro: ${f.repro}`);
  for (const l of r.leaks) console.log(`LEAK ${l}`);
}

if (process.getuid?.() !== 0) {
  log("fuzz: the shim mounts and runs containers through runc: run as root");
  process.exit(1);
}
log(`fuzz: seed ${seed}, ${values.minutes} min against containerd-shim-${engine}-v1`);
const report = await runCampaign({
  binary: values.binary ?? join(root, "dist", "bin", `containerd-shim-${engine}-v1`),
  engine,
  seconds: Number(values.minutes) * 60,
  seed,
  unshare: !values["no-unshare"],
  ...(values.mix
    ? { mix: Object.fromEntries(values.mix.split(",").map((kv) => [kv.split("=")[0], Number(kv.split("=")[1])])) }
    : {}),
  log,
});
print(report);
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
const problems = verdict(report);
for (const p of problems) console.log(`FAIL ${p}`);
process.exit(problems.length > 0 ? 1 : 0);
