// The WASI conformance runner (run as root, with the pinned Node):
//   run.ts [--engine E]... [--filter REGEX] [--jobs N] [--timeout SECONDS]
//          [--write-doc] [--update-baseline] [--json FILE] [--from-json FILE]
// Runs every wasi-testsuite test through every built shim (or the --engine ones) under a private
// containerd, prints one line per test and the totals, and compares the result with baseline.json
// (exit 1 on any difference). --write-doc writes docs/conformance.md; --update-baseline records
// what passes now for the engines that ran. --json saves the run; --from-json re-reads a saved run
// instead of running (e.g. to re-render the doc after editing reasons.json).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compareBaseline, describeDiffs, readBaseline, updateBaseline } from "./baseline.ts";
import { renderDoc } from "./doc.ts";
import { readPeers } from "./peers.ts";
import { corpusSection, spliceCorpus } from "../corpus/doc.ts";
import { readReasons, reasonFor } from "./reasons.ts";
import { runSuite, type SuiteRun } from "./run-suite.ts";

const repoRoot = join(import.meta.dirname, "..", "..");

const { values } = parseArgs({
  options: {
    engine: { type: "string", multiple: true },
    filter: { type: "string" },
    jobs: { type: "string" },
    timeout: { type: "string" },
    "write-doc": { type: "boolean" },
    "update-baseline": { type: "boolean" },
    json: { type: "string" },
    "from-json": { type: "string" },
  },
});

if (values.filter && (values["write-doc"] || values["update-baseline"])) {
  console.error("run.ts: --write-doc and --update-baseline need the whole suite: drop --filter");
  process.exit(2);
}

const controller = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.error(`run.ts: ${sig}: stopping containerd and every task`);
    controller.abort();
  });
}

const reasons = readReasons();
const saved = values["from-json"];
const run: SuiteRun = saved
  ? (JSON.parse(readFileSync(saved, "utf8")) as SuiteRun)
  : await runSuite({
      repoRoot,
      ...(values.engine ? { engines: values.engine } : {}),
      ...(values.filter ? { filter: new RegExp(values.filter) } : {}),
      ...(values.jobs ? { jobs: Number(values.jobs) } : {}),
      ...(values.timeout ? { timeoutMs: Number(values.timeout) * 1000 } : {}),
      log: (line) => console.log(line),
      signal: controller.signal,
    }).catch((err: unknown) => {
      if (!controller.signal.aborted) throw err;
      console.error("run.ts: interrupted; containerd stopped");
      process.exit(130);
    });

console.log(`\n${run.tests.length} tests, ${(run.ms / 1000).toFixed(0)} s`);
for (const e of run.engines) {
  const mine = run.results.filter((r) => r.engine === e.name);
  const unexplained = mine.filter((r) => !r.pass && !reasonFor(reasons, r.id, e.name)).map((r) => r.id);
  console.log(
    `${e.name}: ${mine.filter((r) => r.pass).length} passed, ${mine.filter((r) => !r.pass).length} failed${unexplained.length ? `; no written reason: ${unexplained.join(", ")}` : ""}`,
  );
}
if (run.leftovers.length > 0) console.log(`leftovers:\n  ${run.leftovers.join("\n  ")}`);
const late = run.results.filter((r) => r.timedOut);
for (const r of late) console.log(`timed out: ${r.engine} ${r.id} outlived its time limit`);

if (values.json) writeFileSync(values.json, `${JSON.stringify(run, null, 2)}\n`);
if (values["update-baseline"]) updateBaseline(run.results);
if (values["write-doc"]) {
  const doc = join(repoRoot, "docs", "conformance.md");
  // The corpus section (tools/corpus/run.ts) is carried over as it was.
  const corpus = corpusSection(readFileSync(doc, "utf8"));
  const rendered = renderDoc(run, reasons, readPeers(run.suiteDir), repoRoot);
  writeFileSync(doc, corpus ? spliceCorpus(rendered, corpus) : rendered);
  console.log(`wrote ${doc}`);
}

const diffs = describeDiffs(compareBaseline(run.results, readBaseline()));
for (const d of diffs) console.log(d);
process.exit(diffs.length > 0 || run.leftovers.length > 0 || late.length > 0 ? 1 : 0);
