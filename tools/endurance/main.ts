// Endurance: many container lifecycles, one CRI pod with hundreds of containers, long-running
// tasks; after each, nothing may be left on the host and long-lived daemons' memory must be flat.
// Usage: tools/reliability [--quick] [--engine E]... [--part cycles|cri|soak|idle]... [--cycles N]
//        [--cri-containers N] [--soak-minutes M] [--idle-minutes M] [--sample-seconds S]
//        [--sequential] [--json FILE] | --render FILE
// The soak and the idle tasks run beside the other parts (each in its own containerd; they are
// mostly idle) unless --sequential.
// Without --json it writes docs/reliability.json and the generated section of docs/reliability.md.
// Exits 1 when a check failed (the report says which).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { CriNode, criNamespace } from "@wasm-shims/test-lab/cri-node.ts";
import { formatDocs } from "../benchmark/format-docs.ts";
import { copyShims, findEngines, machine, runtimeOf, shimBinary } from "../benchmark/machine.ts";
import { runCriPart, type CriPartResult } from "./cri.ts";
import { runCycles, type CyclesResult } from "./cycles.ts";
import { leftoversOf, taggedFiles } from "./host.ts";
import { report, splice } from "./report.ts";
import { mergeResults, problems, type Results, type Settings } from "./results.ts";
import { flatRule } from "./sample.ts";
import { writeEnduranceImage } from "./setup.ts";
import { runIdle, type IdleResult } from "./idle.ts";
import { runSoak, type SoakResult } from "./soak.ts";

const root = resolve(import.meta.dirname, "../..");
const parts = ["cycles", "cri", "soak", "idle"] as const;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    engine: { type: "string", multiple: true },
    part: { type: "string", multiple: true },
    cycles: { type: "string" },
    "cri-containers": { type: "string" },
    "soak-minutes": { type: "string" },
    "idle-minutes": { type: "string" },
    "sample-seconds": { type: "string" },
    "line-ms": { type: "string" },
    "exec-every": { type: "string" },
    "bin-dir": { type: "string" },
    sequential: { type: "boolean", default: false },
    json: { type: "string" },
    render: { type: "string", multiple: true },
  },
});

const log = (m: string) => process.stderr.write(`${m}\n`);
const num = (v: string | undefined, fallback: number): number => {
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
  return n;
};

function version(binDir: string, engine: string): string {
  try {
    return (
      /Version:\s*(\S+)/.exec(execFileSync(shimBinary(binDir, engine), ["-v"], { encoding: "utf8" }))?.[1] ?? "unknown"
    );
  } catch {
    return "unknown";
  }
}

function writeDocs(results: Results, withJson: boolean): void {
  const md = join(root, "docs", "reliability.md");
  if (withJson) writeFileSync(join(root, "docs", "reliability.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(md, splice(existsSync(md) ? readFileSync(md, "utf8") : "# Reliability\n", report(results)));
  formatDocs([md, ...(withJson ? [join(root, "docs", "reliability.json")] : [])]);
  log(`wrote docs/reliability.md${withJson ? " and docs/reliability.json" : ""}`);
}

async function main(): Promise<number> {
  if (positionals.length > 0 && !values.render) {
    log(`reliability: unexpected arguments ${positionals.join(" ")} (only --render takes several files)`);
    return 1;
  }
  if (values.render) {
    // `--render a.json b.json c.json`: the files after the first come as positionals.
    const runs = [...values.render, ...positionals].map((f) => JSON.parse(readFileSync(f, "utf8")) as Results);
    writeDocs(runs.length === 1 ? runs[0]! : mergeResults(runs), false);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    log("reliability: containerd and runc need root");
    return 1;
  }
  const quick = values.quick ?? false;
  const settings: Settings = {
    cycles: num(values.cycles, quick ? 20 : 1000),
    criContainers: num(values["cri-containers"], quick ? 20 : 200),
    probeIntervalS: 1,
    soakS: Math.round(num(values["soak-minutes"], quick ? 1 : 60) * 60),
    idleS: Math.round(num(values["idle-minutes"], quick ? 1 : 60) * 60),
    sampleS: num(values["sample-seconds"], quick ? 5 : 10),
    lineIntervalMs: num(values["line-ms"], 100),
    execEverySamples: num(values["exec-every"], 6),
  };
  const wanted = new Set(values.part ?? parts);
  for (const p of wanted)
    if (!(parts as readonly string[]).includes(p)) throw new Error(`unknown part ${p} (${parts.join(", ")})`);
  const binDir = resolve(values["bin-dir"] ?? join(root, "dist", "bin"));
  const present = findEngines(binDir);
  const engines = values.engine ?? present;
  for (const e of engines)
    if (!present.includes(e)) throw new Error(`no ${shimBinary(binDir, e)} (run tools/build.sh)`);

  const started = Date.now();
  // Every id carries the tag, so anything left anywhere under /run can be found by name.
  const tag = `endu${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const tmp = mkdtempSync("/tmp/endure-");
  const env = { WASM_SHIM_JCO_CACHE: join(tmp, "jco-cache") };
  const cycles: CyclesResult[] = [];
  const cri: CriPartResult[] = [];
  const soak: SoakResult[] = [];
  let soakLeftovers: string[] = [];
  let idle: IdleResult | undefined;
  const afterStop: Record<string, string[]> = {};
  const errors: string[] = [];
  const failed = (part: string, e: unknown) =>
    errors.push(`${part}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  let shimDir = "";
  const versions: Record<string, string> = {};
  let image = "";
  const withContainerd = async (part: string, body: (ctd: Containerd) => Promise<void>) => {
    let ctd: Containerd | undefined;
    try {
      ctd = await Containerd.start({ shimDir, env });
      await ctd.importImage(image);
      await body(ctd);
    } catch (e) {
      failed(part, e);
    } finally {
      await ctd?.stop();
      if (ctd) afterStop[part] = await ctd.leftovers();
    }
  };
  const soakPart = async () => {
    if (!wanted.has("soak")) return;
    await withContainerd("soak", async (ctd) => {
      log(`soak: one task per engine for ${settings.soakS} s`);
      const s = {
        durationS: settings.soakS,
        sampleS: settings.sampleS,
        lineIntervalMs: settings.lineIntervalMs,
        execEverySamples: settings.execEverySamples,
      };
      soak.push(...(await Promise.all(engines.map((e) => runSoak(ctd, e, s, `${tag}s`, log)))));
      soakLeftovers = await leftoversOf(ctd, `${tag}s`);
    });
  };
  const idlePart = async () => {
    if (!wanted.has("idle")) return;
    await withContainerd("idle", async (ctd) => {
      idle = await runIdle(ctd, engines, { durationS: settings.idleS, sampleS: settings.sampleS }, `${tag}i`, log);
    });
  };
  const cyclesPart = async () => {
    if (!wanted.has("cycles")) return;
    await withContainerd("cycles", async (ctd) => {
      for (const e of engines) {
        log(`cycles: ${settings.cycles} × ctr run --rm (${e})`);
        cycles.push(await runCycles(ctd, e, settings.cycles, `${tag}c`, log));
      }
    });
  };
  const criPart = async () => {
    if (!wanted.has("cri")) return;
    let node: CriNode | undefined;
    try {
      node = await CriNode.start({
        shimDir,
        env,
        runtimes: Object.fromEntries(engines.map((e) => [`wasm-${e}`, { type: runtimeOf(e) }])),
      });
      await node.ctd.importImage(image, criNamespace);
      for (const e of engines) {
        log(`cri: ${settings.criContainers} containers in one pod (wasm-${e})`);
        cri.push(
          await runCriPart(node, e, settings.criContainers, settings.probeIntervalS, settings.sampleS, `${tag}k`, log),
        );
      }
    } catch (e) {
      failed("cri", e);
    } finally {
      await node?.stop();
      if (node)
        afterStop.cri = [
          ...(await node.ctd.leftovers()),
          ...(await node.leftovers()).filter((l) => l.startsWith("cgroup")),
        ];
    }
  };
  let soaking: Promise<void> = Promise.resolve();
  try {
    shimDir = copyShims(binDir, engines, join(tmp, "bin"));
    // From the copies that run, not dist/bin: a rebuild during the hours of a run changes those.
    for (const e of engines) versions[e] = version(shimDir, e);
    image = await writeEnduranceImage(tmp);
    log(`reliability: engines ${engines.join(", ")}; tag ${tag}; ${JSON.stringify(settings)}`);
    soaking = values.sequential ? Promise.resolve() : Promise.all([soakPart(), idlePart()]).then(() => {});
    await cyclesPart();
    await criPart();
    await soaking;
    if (values.sequential) {
      await soakPart();
      await idlePart();
    }
  } catch (e) {
    failed("setup", e);
  } finally {
    await soaking;
    rmSync(tmp, { recursive: true, force: true });
  }
  const stray = taggedFiles(tag, ["/run"]);
  if (stray.length > 0) afterStop.host = stray.map((f) => `tagged file ${f}`);
  const base = {
    schema: 1 as const,
    date: new Date().toISOString(),
    command: ["tools/reliability", ...process.argv.slice(2)].join(" "),
    quick,
    durationS: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    engines,
    versions,
    settings,
    sequential: values.sequential ?? false,
    flatRule,
    cycles,
    cri,
    soak,
    soakLeftovers,
    ...(idle ? { idle } : {}),
    afterStop,
    errors,
  };
  const results: Results = { ...base, problems: problems(base) };
  if (values.json) {
    mkdirSync(dirname(resolve(values.json)), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${values.json}`);
  } else {
    writeDocs(results, true);
  }
  for (const p of results.problems) log(`problem: ${p}`);
  log(
    `reliability: ${results.problems.length === 0 ? "passed" : `${results.problems.length} problem(s)`} in ${results.durationS} s`,
  );
  return results.problems.length === 0 ? 0 : 1;
}

process.exitCode = await main();
