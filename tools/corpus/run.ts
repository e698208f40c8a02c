// The corpus of real programs through every built shim (run as root, with the pinned Node and
// --experimental-transform-types, which the generated CRI enums need):
//   node --experimental-transform-types tools/corpus/run.ts [--engine E]... [--write-doc] [--json FILE] [--from-json FILE]
// Prints one line per case and client, and exits 1 when a case fails without a written reason in
// packages/test-lab/src/corpus/known-failures.ts, or a known failure now passes.
// --write-doc rewrites only the corpus section of docs/conformance.md.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { knownFailure } from "@wasm-shims/test-lab/corpus/known-failures.ts";
import { runCorpus, type CaseResult } from "@wasm-shims/test-lab/corpus/run-corpus.ts";
import { firstLine } from "../benchmark/machine.ts";
import { binDir, builtEngines } from "../wasi-testsuite/run-suite.ts";
import { renderCorpus, spliceCorpus, type CorpusRun } from "./doc.ts";

const repoRoot = join(import.meta.dirname, "..", "..");
const { values } = parseArgs({
  options: {
    engine: { type: "string", multiple: true },
    "write-doc": { type: "boolean" },
    json: { type: "string" },
    "from-json": { type: "string" },
  },
});

let run: CorpusRun;
if (values["from-json"]) {
  run = JSON.parse(readFileSync(values["from-json"], "utf8")) as CorpusRun;
  // Reasons are read afresh, so a saved run can be re-rendered after editing known-failures.ts.
  run.results = run.results.map(({ known: _, ...r }) => {
    const known = knownFailure(r.engine, r.id, r.client);
    return known ? { ...r, known } : r;
  });
} else {
  const engines = values.engine ?? builtEngines(repoRoot);
  const results: CaseResult[] = [];
  for (const engine of engines) {
    const env = engine === "jco" ? { WASM_SHIM_JCO_CACHE: mkdtempSync(join(tmpdir(), "jco-cache-")) } : undefined;
    results.push(
      ...(await runCorpus({ engine, components: engine === "jco", ...(env ? { env } : {}) }, binDir(repoRoot), (line) =>
        console.log(line),
      )),
    );
  }
  run = { commit: firstLine("git", ["rev-parse", "--short=12", "HEAD"], repoRoot), engines, results };
}

for (const e of run.engines) {
  const mine = run.results.filter((r) => r.engine === e);
  console.log(
    `${e}: ${mine.filter((r) => r.problems.length === 0).length} passed, ${mine.filter((r) => r.problems.length > 0).length} failed`,
  );
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(run, null, 2)}\n`);
if (values["write-doc"]) {
  const doc = join(repoRoot, "docs", "conformance.md");
  writeFileSync(doc, spliceCorpus(readFileSync(doc, "utf8"), renderCorpus(run)));
  console.log(`wrote the corpus section of ${doc}`);
}
const unexpected = run.results.filter((r) => r.problems.length > 0 !== (r.known !== undefined));
for (const r of unexpected)
  console.log(
    `unexpected: ${r.engine} ${r.client} ${r.id} ${r.problems.length > 0 ? "fails without a written reason" : "passes though listed as a known failure"}`,
  );
process.exit(unexpected.length > 0 ? 1 : 0);
