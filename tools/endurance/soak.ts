import { once } from "node:events";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { descendants, listProcs } from "@wasm-shims/test-lab/procfs.ts";
import { runtimeOf } from "../benchmark/machine.ts";
import { roundSummary, summarize, type Summary } from "../benchmark/stats.ts";
import type { Failure } from "./cycles.ts";
import { flatness, sampleProc, type Flatness, type ProcSample } from "./sample.ts";
import { enduranceImage, helloText, programFor } from "./setup.ts";

export interface SoakSettings {
  durationS: number;
  sampleS: number;
  /** A line goes to the task's stdin this often; the guest echoes it to stdout. */
  lineIntervalMs: number;
  /** An exec of hello into the task every this many samples. */
  execEverySamples: number;
}

export interface SoakResult {
  engine: string;
  durationS: number;
  linesSent: number;
  linesEchoed: number;
  /** Lines that never came back. */
  linesLost: number;
  /** Lines that came back other than next in order. */
  outOfOrder: number;
  /** stdin write → the same line on ctr's stdout. */
  echoMs: Summary;
  /** Stats (`ctr task metrics`) calls, one per sample, and their failures. */
  stats: { ok: number; failed: number };
  execs: { ok: number; failed: number };
  failures: Failure[];
  /** The task's shim daemon, the runc process it runs the task under, and the runner (the guest's process). */
  daemon: { samples: ProcSample[]; flatness: Flatness };
  runc: { samples: ProcSample[] };
  runner: { samples: ProcSample[] };
  /** Entries in the task's bundle at each sample: exec files must not pile up. */
  bundleEntries: { min: number; max: number };
  /** What ended the task: SIGTERM as asked, or SIGKILL after SIGTERM was ignored for `termGraceS`. */
  endedBy: "SIGTERM" | "SIGKILL" | "removed";
  exitCode: number;
}

const termGraceS = 15;

async function waitRunning(ctd: Containerd, id: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = (await ctd.ctr(["task", "ls"]).catch(() => ({ stdout: "" }))).stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    if (rows.some((r) => r[0] === id && r[2] === "RUNNING")) return;
    if (Date.now() > deadline) throw new Error(`task ${id} not RUNNING after ${timeoutMs} ms`);
    await sleep(200);
  }
}

const keep = 10;

function bundleEntries(ctd: Containerd, id: string): number {
  try {
    return readdirSync(join(ctd.dir, "state/io.containerd.runtime.v2.task", ctd.namespace, id)).length;
  } catch {
    return Number.NaN;
  }
}

/**
 * One task per engine, all at once, for `durationS`: the guest echoes what the tool writes to its
 * stdin (so every line crosses the shim daemon, runc and the guest), while the tool samples the
 * processes' memory and fds, asks for Stats and execs into the task now and then.
 */
export async function runSoak(
  ctd: Containerd,
  engine: string,
  s: SoakSettings,
  tag: string,
  log: (m: string) => void,
): Promise<SoakResult> {
  const id = `${tag}-soak-${engine}`;
  const child = ctd.ctrSpawn([
    "run",
    "--rm",
    "--runtime",
    runtimeOf(engine),
    enduranceImage,
    id,
    programFor(engine, "cat-stdin"),
  ]);
  const exit = once(child, "close") as Promise<[number | null]>;
  // Lines sent before the guest reads would only measure the start-up as echo time.
  await waitRunning(ctd, id);
  const t0 = Date.now();
  const sentAt = new Map<number, number>();
  const echo: number[] = [];
  const failures: Failure[] = [];
  let sent = 0;
  let expected = 1;
  let echoed = 0;
  let outOfOrder = 0;
  let pending = "";
  child.stdout?.on("data", (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const n = Number(/^line (\d+)$/.exec(line)?.[1] ?? Number.NaN);
      if (n !== expected) {
        outOfOrder += 1;
        if (failures.length < keep)
          failures.push({ at: expected, what: `expected line ${expected}, got ${JSON.stringify(line)}` });
      }
      if (Number.isFinite(n)) {
        echoed += 1;
        echo.push(performance.now() - (sentAt.get(n) ?? Number.NaN));
        sentAt.delete(n);
        expected = n + 1;
      }
    }
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const writer = setInterval(() => {
    sent += 1;
    sentAt.set(sent, performance.now());
    child.stdin?.write(`line ${sent}\n`);
  }, s.lineIntervalMs);
  const samples = { daemon: [] as ProcSample[], runc: [] as ProcSample[], runner: [] as ProcSample[] };
  const stats = { ok: 0, failed: 0 };
  const execs = { ok: 0, failed: 0 };
  const entries: number[] = [];
  let round = 0;
  while (Date.now() - t0 < s.durationS * 1000) {
    await sleep(Math.min(s.sampleS * 1000, Math.max(0, t0 + s.durationS * 1000 - Date.now())));
    round += 1;
    const t = (Date.now() - t0) / 1000;
    const procs = listProcs();
    const daemon = shimProcesses(ctd.socket, procs).find((p) => p.id === id && p.argv.at(-1) === "serve");
    if (daemon) {
      samples.daemon.push(sampleProc(daemon.pid, t));
      const below = descendants(procs, [daemon.pid]);
      // Not a `runc exec` or `runc events` the daemon runs now and then, nor a probe's process.
      const runc = below.find((p) => p.ppid === daemon.pid && p.argv.includes("run") && p.argv.includes("--keep"));
      // With `runc create`/`start` the daemon, as subreaper, is the runner's parent; under the older
      // `runc run --keep` (a terminal), runc is.
      const parent = runc?.pid ?? daemon.pid;
      const runner = below.find((p) => p.ppid === parent && !p.argv[0]?.endsWith("runc"));
      if (runc) samples.runc.push(sampleProc(runc.pid, t));
      if (runner) samples.runner.push(sampleProc(runner.pid, t));
    }
    const m = await ctd
      .ctr(["task", "metrics", id], { timeoutMs: 30_000 })
      .catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    if (m.code === 0) stats.ok += 1;
    else {
      stats.failed += 1;
      if (failures.length < keep) failures.push({ at: round, what: `metrics: ${m.stderr.slice(0, 300)}` });
    }
    if (round % s.execEverySamples === 0) {
      const r = await ctd
        .ctr(["task", "exec", "--exec-id", `probe-${round}`, id, programFor(engine, "hello")], { timeoutMs: 30_000 })
        .catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
      if (r.code === 0 && r.stdout === helloText) execs.ok += 1;
      else {
        execs.failed += 1;
        if (failures.length < keep)
          failures.push({
            at: round,
            what: `exec: exit ${r.code}, ${JSON.stringify(r.stdout)} ${r.stderr.slice(0, 300)}`,
          });
      }
    }
    entries.push(bundleEntries(ctd, id));
    if (round % Math.max(1, Math.round(60 / s.sampleS)) === 0) {
      const d = samples.daemon.at(-1);
      log(
        `  soak ${engine}: ${Math.round(t)} s, ${sent} lines sent, ${echoed} echoed; daemon ${d?.pssMB ?? "?"} MB PSS, ${d?.fds ?? "?"} fds`,
      );
    }
  }
  clearInterval(writer);
  // Let the last lines come back before the task goes.
  for (let i = 0; i < 100 && echoed < sent; i++) await sleep(100);
  const ended = async (ms: number) => (await Promise.race([exit, sleep(ms).then(() => [undefined])]))[0];
  let endedBy: SoakResult["endedBy"] = "SIGTERM";
  await ctd.ctr(["task", "kill", "-s", "SIGTERM", id]);
  let code = await ended(termGraceS * 1000);
  if (code === undefined) {
    endedBy = "SIGKILL";
    await ctd.ctr(["task", "kill", "-s", "SIGKILL", id]);
    code = await ended(30_000);
  }
  if (code === undefined) {
    endedBy = "removed";
    await ctd.removeContainer(id);
  }
  if (stderr && failures.length < keep) failures.push({ at: round, what: `stderr: ${stderr.slice(0, 300)}` });
  const finite = entries.filter(Number.isFinite);
  return {
    engine,
    durationS: Math.round((Date.now() - t0) / 1000),
    linesSent: sent,
    linesEchoed: echoed,
    linesLost: sent - echoed,
    outOfOrder,
    echoMs: roundSummary(summarize(echo), 1),
    stats,
    execs,
    failures,
    daemon: { samples: samples.daemon, flatness: flatness(samples.daemon) },
    runc: { samples: samples.runc },
    runner: { samples: samples.runner },
    bundleEntries: { min: Math.min(...finite), max: Math.max(...finite) },
    endedBy,
    exitCode: code ?? -1,
  };
}
