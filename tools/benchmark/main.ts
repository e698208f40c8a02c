// The benchmark: every shim in dist/bin beside runc, against a private containerd, in one run.
// Usage: tools/bench [--quick] [--engine E]... [--json FILE] [--http-before SHIM] | --compare OLD.json NEW.json
//        | --render RESULTS.json (rewrites docs/benchmarks.{md,svg} from a run's JSON, measuring nothing)
//        | --http-only [--quick] [--http-before SHIM] (measures HTTP serving alone and puts it into
//          docs/benchmarks.json's other figures); --http-before adds the given (older) jco shim
//          executable as one more HTTP case.
// Without --json it writes docs/benchmarks.{md,svg,json}; with it, only that JSON file.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { binaries } from "./binary.ts";
import { chart } from "./chart.ts";
import { coldStart, coldStartCases } from "./coldstart.ts";
import { compare } from "./compare.ts";
import { buildComputeImages, compute, type ComputeResult } from "./compute.ts";
import { criPodStart } from "./cri.ts";
import { closeBench, openBench, type Bench } from "./harness.ts";
import { buildHttpImage, ensureWrk, httpBench, httpCases } from "./http.ts";
import { instantiateCosts } from "./http-instantiate.ts";
import { profileServing } from "./http-profile.ts";
import type { HttpSection } from "./http-report.ts";
import { bareNode } from "./bare-node.ts";
import { hostFloor } from "./host-floor.ts";
import { findEngines, machine, shimBinary } from "./machine.ts";
import { density, longCases, memory } from "./memory.ts";
import { report } from "./report.ts";
import { flatMetrics, type Results } from "./results.ts";
import { formatDocs } from "./format-docs.ts";

const root = resolve(import.meta.dirname, "../..");
const binDir = join(root, "dist", "bin");

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    engine: { type: "string", multiple: true },
    json: { type: "string" },
    compare: { type: "boolean", default: false },
    render: { type: "string" },
    "http-only": { type: "boolean", default: false },
    "http-before": { type: "string" },
  },
});

const log = (m: string) => process.stderr.write(`${m}\n`);

function version(engine: string): string {
  try {
    const out = execFileSync(shimBinary(binDir, engine), ["-v"], { encoding: "utf8" });
    return /Version:\s*(\S+)/.exec(out)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

function writeDocs(results: Results, withJson: boolean): void {
  const docs = join(root, "docs");
  mkdirSync(docs, { recursive: true });
  if (withJson) writeFileSync(join(docs, "benchmarks.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(docs, "benchmarks.svg"), chart(results));
  writeFileSync(join(docs, "benchmarks.md"), report(results));
  formatDocs([join(docs, "benchmarks.md"), ...(withJson ? [join(docs, "benchmarks.json")] : [])]);
  log(`wrote docs/benchmarks.md, docs/benchmarks.svg${withJson ? ", docs/benchmarks.json" : ""}`);
}

/** The command line, with --http-before's path (a file on this machine) given as that shim's version. */
function httpCommand(): string {
  const before = values["http-before"];
  const version = before ? /Version: (\S+)/.exec(execFileSync(before, ["-v"], { encoding: "utf8" }))?.[1] : undefined;
  return [
    "tools/bench",
    ...process.argv.slice(2).map((a) => (a === before ? `<jco shim ${version ?? "of unknown version"}>` : a)),
  ].join(" ");
}

async function measureHttp(b: Bench, quick: boolean): Promise<HttpSection> {
  const section: HttpSection = { date: new Date().toISOString(), command: httpCommand() };
  try {
    ensureWrk(log);
    await buildHttpImage(b);
    section.serve = await httpBench(
      b,
      httpCases(values["http-before"] !== undefined),
      { rounds: quick ? 1 : 3, seconds: quick ? 5 : 10, connections: 16, node: process.execPath },
      log,
    );
    log("http: what one instance costs");
    const { parse } = await import(
      "../../packages/shim-jco/node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js"
    );
    const { httpHandlerWat } = await import("../../packages/shim-jco/test/components.ts");
    const { programPath } = await import("@wasm-shims/test-fixtures");
    const tiny = await parse(httpHandlerWat("hello from js\n"));
    const fetchEvent = new Uint8Array(readFileSync(programPath("http-hello-js")));
    const incoming = new Uint8Array(readFileSync(programPath("http-raw-hello-js")));
    section.instantiate = await instantiateCosts(
      [
        { label: "tiny (WAT)", bytes: tiny },
        { label: "JS fetch event", bytes: fetchEvent },
        { label: "JS incomingHandler", bytes: incoming },
      ],
      quick ? 10 : 40,
    );
    log("http: where a request's CPU time goes (profiled, one event loop in this process)");
    section.profile = await profileServing(
      [
        { label: "tiny (WAT), fresh", bytes: tiny },
        { label: "tiny (WAT), reuse", bytes: tiny, reuse: true },
        { label: "JS fetch event, fresh", bytes: fetchEvent },
        { label: "JS incomingHandler, reuse", bytes: incoming, reuse: true },
      ],
      quick ? 4 : 8,
    );
  } catch (e) {
    section.error = (e as Error).message.slice(0, 500);
    log(`http: ${section.error}`);
  }
  return section;
}

/** dist/bin, or with --http-before a directory that also holds that shim as "jcobefore". */
function shimDirectory(): { dir: string; done: () => void } {
  const before = values["http-before"];
  if (!before) return { dir: binDir, done: () => {} };
  const dir = mkdtempSync("/tmp/bench-shims-");
  for (const name of readdirSync(binDir)) symlinkSync(join(binDir, name), join(dir, name));
  copyFileSync(before, join(dir, "containerd-shim-jcobefore-v1"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function httpOnly(): Promise<number> {
  const shims = shimDirectory();
  const b = await openBench(shims.dir);
  let http: HttpSection;
  let leftovers: string[];
  try {
    log(`http: serving under load${values.quick ? " (quick)" : ""}`);
    http = await measureHttp(b, values.quick ?? false);
  } finally {
    leftovers = await closeBench(b);
    shims.done();
  }
  const previous = JSON.parse(readFileSync(join(root, "docs", "benchmarks.json"), "utf8")) as Results;
  const base = { ...previous, http, leftovers: [...previous.leftovers, ...leftovers] };
  const results: Results = { ...base, metrics: flatMetrics(base) };
  if (values.json) writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
  else writeDocs(results, true);
  return http.serve ? 0 : 1;
}

async function main(): Promise<number> {
  if (values.compare) {
    const [a, b] = positionals;
    if (!a || !b) {
      log("usage: tools/bench --compare OLD.json NEW.json");
      return 2;
    }
    console.log(compare(a, b));
    return 0;
  }
  if (values.render) {
    writeDocs(JSON.parse(readFileSync(values.render, "utf8")) as Results, false);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    log("bench: containerd and runc need root");
    return 1;
  }
  if (values["http-only"]) return httpOnly();
  const present = findEngines(binDir);
  const engines = values.engine ? values.engine.filter((e) => present.includes(e)) : present;
  for (const e of values.engine ?? [])
    if (!present.includes(e)) log(`bench: no dist/bin/containerd-shim-${e}-v1, skipping ${e}`);
  if (engines.length === 0) {
    log("bench: no shim to measure in dist/bin (run tools/build.sh)");
    return 1;
  }
  const quick = values.quick ?? false;
  const size = quick
    ? { versionRuns: 20, coldRounds: 3, densities: [5], computeRounds: 16, computeRuns: 3 }
    : { versionRuns: 30, coldRounds: 10, densities: [20, 50], computeRounds: 64, computeRuns: 11 };
  const started = Date.now();
  log(`bench: engines ${engines.join(", ")} and runc${quick ? " (quick)" : ""}`);

  log("binary size and `-v` start-up");
  const binary = binaries(binDir, engines, size.versionRuns);

  const shims = shimDirectory();
  const b = await openBench(shims.dir);
  let partial: Omit<Results, "metrics" | "leftovers" | "durationS" | "cri">;
  let leftovers: string[] = [];
  try {
    log(`cold start: ${size.coldRounds} rounds`);
    const cold = await coldStart(b, coldStartCases(b, engines), size.coldRounds, log);
    log("the large module on the host, no shim");
    const floor = hostFloor(size.coldRounds);
    log("memory: bare Node processes side by side");
    const bare = await bareNode(10);
    log("memory: one idle task each");
    const mem = await memory(b, longCases(engines), log);
    log(`density: ${size.densities.join(", ")} tasks at once`);
    const dens = await density(b, longCases(engines), size.densities, log);
    log(`compute: sha256 of ${size.computeRounds} MiB, ${size.computeRuns} runs each`);
    let comp: ComputeResult[];
    try {
      await buildComputeImages(b, log);
      // An engine that never finished hello would only add its timeouts here.
      const working = engines.filter((e) => cold.some((c) => c.engine === e && c.runs > 0));
      comp = await compute(b, working, size.computeRounds, size.computeRuns, log);
      for (const e of engines.filter((x) => !working.includes(x)))
        comp.push({
          label: e,
          engine: e,
          rounds: size.computeRounds,
          runs: 0,
          error: "skipped: no cold-start run of this engine succeeded",
        });
    } catch (e) {
      comp = [
        {
          label: "native",
          engine: "runc",
          rounds: size.computeRounds,
          runs: 0,
          error: (e as Error).message.slice(0, 300),
        },
      ];
    }
    partial = {
      schema: 1,
      date: new Date().toISOString(),
      command: ["tools/bench", ...process.argv.slice(2)].join(" "),
      quick,
      machine: machine(),
      engines,
      versions: Object.fromEntries(engines.map((e) => [e, version(e)])),
      binary,
      coldStart: cold,
      hostFloor: floor,
      bareNode: bare,
      memory: mem,
      density: dens,
      compute: comp,
    };
    if (engines.includes("jco")) {
      log("http: serving under load");
      partial.http = await measureHttp(b, quick);
    }
  } finally {
    leftovers = await closeBench(b);
    shims.done();
  }
  // After our containerd is gone: the CRI script starts its own.
  log("CRI pod start");
  const cri = await criPodStart(quick, engines);
  const base = { ...partial, cri, leftovers, durationS: Math.round((Date.now() - started) / 1000) };
  const results: Results = { ...base, metrics: flatMetrics(base) };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  if (values.json) {
    mkdirSync(dirname(resolve(values.json)), { recursive: true });
    writeFileSync(values.json, json);
    log(`wrote ${values.json}`);
  } else {
    writeDocs(results, true);
  }
  if (leftovers.length > 0) log(`bench: left on the host:\n  ${leftovers.join("\n  ")}`);
  log(`bench: done in ${results.durationS} s`);
  return 0;
}

process.exitCode = await main();
