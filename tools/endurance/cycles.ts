import type { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { runtimeOf } from "../benchmark/machine.ts";
import { roundSummary, summarize, type Summary } from "../benchmark/stats.ts";
import { checkpoint, leftoversOf, type Checkpoint } from "./host.ts";
import { enduranceImage, helloText, programFor } from "./setup.ts";

export interface Failure {
  /** Which cycle, container or probe. */
  at: number;
  what: string;
}

export interface CyclesResult {
  engine: string;
  cycles: number;
  ok: number;
  failed: number;
  /** The first few failures, verbatim. */
  failures: Failure[];
  /** `ctr run --rm` from spawn to exit. */
  wallMs: Summary;
  durationS: number;
  /** Taken every tenth of the run, with no container running. */
  checkpoints: Checkpoint[];
  /** What was left once all cycles were done, before containerd stopped. */
  leftovers: string[];
}

const keepFailures = 10;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `ctr run --rm [flags] image id command…` in the foreground; a run that hangs is killed and its container removed. */
export function ctrRun(
  ctd: Containerd,
  flags: string[],
  image: string,
  id: string,
  command: string[],
  timeoutMs = 60_000,
): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = ctd.ctrSpawn(["run", "--rm", ...flags, image, id, ...command]);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin?.end();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (!timedOut) return resolve({ code: code ?? -1, stdout, stderr, ms });
      void ctd
        .removeContainer(id, { timeoutMs: 30_000 })
        .then(() => resolve({ code: -1, stdout, stderr: `timed out after ${timeoutMs} ms; ${stderr}`, ms }));
    });
  });
}

/** `cycles` times `ctr run --rm` of hello, one after another, checking its output every time. */
export async function runCycles(
  ctd: Containerd,
  engine: string,
  cycles: number,
  tag: string,
  log: (m: string) => void,
): Promise<CyclesResult> {
  const t0 = Date.now();
  const every = Math.max(1, Math.floor(cycles / 10));
  const wall: number[] = [];
  const failures: Failure[] = [];
  const checkpoints: Checkpoint[] = [await checkpoint(ctd, tag, 0, t0)];
  let ok = 0;
  for (let i = 1; i <= cycles; i++) {
    const id = `${tag}-${engine}-${i}`;
    const run = await ctrRun(ctd, ["--runtime", runtimeOf(engine)], enduranceImage, id, [programFor(engine, "hello")]);
    wall.push(run.ms);
    if (run.code === 0 && run.stdout === helloText) ok += 1;
    else if (failures.length < keepFailures)
      failures.push({
        at: i,
        what: `exit ${run.code}; stdout ${JSON.stringify(run.stdout.slice(0, 200))}; stderr ${JSON.stringify(run.stderr.slice(0, 400))}`,
      });
    if (i % every === 0 || i === cycles) {
      const cp = await checkpoint(ctd, tag, i, t0);
      checkpoints.push(cp);
      log(
        `  ${engine}: ${i}/${cycles} cycles, ${i - ok} failed, containerd ${cp.containerd.rssMB} MB RSS / ${cp.containerd.fds} fds, ${cp.leftovers.length} left`,
      );
    }
  }
  return {
    engine,
    cycles,
    ok,
    failed: cycles - ok,
    failures,
    wallMs: roundSummary(summarize(wall), 0),
    durationS: Math.round((Date.now() - t0) / 1000),
    checkpoints,
    leftovers: await leftoversOf(ctd, tag),
  };
}
