import { setTimeout as sleep } from "node:timers/promises";
import { ContainerState } from "@wasm-shims/test-lab/cri-client.ts";
import type { CriNode, Pod } from "@wasm-shims/test-lab/cri-node.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { roundSummary, summarize, type Summary } from "../benchmark/stats.ts";
import type { Failure } from "./cycles.ts";
import { leftoversOf } from "./host.ts";
import { flatness, sampleProc, type Flatness, type ProcSample } from "./sample.ts";
import { enduranceImage, helloText, programFor } from "./setup.ts";

export interface ProbeStats {
  sent: number;
  ok: number;
  failed: number;
  latencyMs: Summary;
  failures: Failure[];
}

export interface CriPartResult {
  engine: string;
  handler: string;
  containers: number;
  ok: number;
  failed: number;
  failures: Failure[];
  /** CreateContainer → StartContainer → EXITED → RemoveContainer, per container. */
  containerMs: Summary;
  /** ExecSync of hello into one long-running container of the same pod, every probe interval. */
  probes: ProbeStats;
  /** The pod's shim daemon, which serves every container of the pod. */
  daemon: { samples: ProcSample[]; flatness: Flatness };
  durationS: number;
  /** After the pod was removed as kubelet removes it. */
  leftovers: string[];
}

const keep = 10;

function podDaemon(node: CriNode, pod: Pod): number | undefined {
  return shimProcesses(node.ctd.socket).find((p) => p.id === pod.id && p.argv.at(-1) === "serve")?.pid;
}

/** Probes until `stop()` resolves, one ExecSync per interval (not overlapping), as a kubelet exec probe does. */
async function probeLoop(
  pod: Pod,
  target: string,
  command: string[],
  intervalMs: number,
  done: () => boolean,
): Promise<ProbeStats> {
  const latency: number[] = [];
  const failures: Failure[] = [];
  let sent = 0;
  let ok = 0;
  while (!done()) {
    const started = performance.now();
    sent += 1;
    try {
      // Generous, unlike a kubelet probe's 1 s: this checks that probes work, on a busy machine.
      const r = await pod.execSync(target, command, 30);
      if (r.exitCode === 0 && r.stdout === helloText) ok += 1;
      else if (failures.length < keep)
        failures.push({
          at: sent,
          what: `exit ${r.exitCode}; stdout ${JSON.stringify(r.stdout)}; stderr ${JSON.stringify(r.stderr.slice(0, 300))}`,
        });
    } catch (e) {
      if (failures.length < keep) failures.push({ at: sent, what: (e as Error).message.slice(0, 400) });
    }
    const ms = performance.now() - started;
    latency.push(ms);
    await sleep(Math.max(0, intervalMs - ms));
  }
  return { sent, ok, failed: sent - ok, latencyMs: roundSummary(summarize(latency), 0), failures };
}

/**
 * One pod with handler wasm-<engine>: a long-running Wasm container probed with ExecSync every
 * interval, while `count` short Wasm containers are created, run to completion, checked and
 * removed one after another. The pod's daemon is sampled every `sampleS` seconds.
 */
export async function runCriPart(
  node: CriNode,
  engine: string,
  count: number,
  probeIntervalS: number,
  sampleS: number,
  tag: string,
  log: (m: string) => void,
): Promise<CriPartResult> {
  const t0 = Date.now();
  const handler = `wasm-${engine}`;
  const pod = await node.runPod(`${tag}-${engine}`, handler);
  const target = await pod.run({
    name: "target",
    image: enduranceImage,
    command: [programFor(engine, "sleep"), "2000000000"],
  });
  const samples: ProcSample[] = [];
  const sample = () => {
    const pid = podDaemon(node, pod);
    if (pid) samples.push(sampleProc(pid, (Date.now() - t0) / 1000));
  };
  sample();
  const sampler = setInterval(sample, sampleS * 1000);
  let finished = false;
  const probes = probeLoop(pod, target, [programFor(engine, "hello")], probeIntervalS * 1000, () => finished);
  const times: number[] = [];
  const failures: Failure[] = [];
  let ok = 0;
  try {
    for (let i = 1; i <= count; i++) {
      const started = performance.now();
      try {
        const id = await pod.create({ name: `c${i}`, image: enduranceImage, command: [programFor(engine, "hello")] });
        await node.cri.runtime.startContainer({ containerId: id });
        const status = await pod.waitState(id, ContainerState.CONTAINER_EXITED, 60_000);
        const text = pod.log(`c${i}`).map((l) => l.text);
        await node.cri.runtime.removeContainer({ containerId: id });
        if (status.exitCode === 0 && text.join("\n") === helloText.trim()) ok += 1;
        else if (failures.length < keep)
          failures.push({ at: i, what: `exit ${status.exitCode} (${status.reason}); log ${JSON.stringify(text)}` });
      } catch (e) {
        if (failures.length < keep) failures.push({ at: i, what: (e as Error).message.slice(0, 400) });
      }
      times.push(performance.now() - started);
      if (i % Math.max(1, Math.floor(count / 10)) === 0)
        log(
          `  ${handler}: ${i}/${count} containers, ${i - ok} failed; daemon ${samples.at(-1)?.pssMB ?? "?"} MB PSS, ${samples.at(-1)?.fds ?? "?"} fds`,
        );
    }
  } finally {
    finished = true;
    clearInterval(sampler);
  }
  const probeStats = await probes;
  sample();
  await pod.remove();
  return {
    engine,
    handler,
    containers: count,
    ok,
    failed: count - ok,
    failures,
    containerMs: roundSummary(summarize(times), 0),
    probes: probeStats,
    daemon: { samples, flatness: flatness(samples) },
    durationS: Math.round((Date.now() - t0) / 1000),
    leftovers: [
      ...(await leftoversOf(node.ctd, tag)),
      ...(await node.leftovers()).filter((l) => l.startsWith("cgroup") || l.startsWith("pod")),
    ],
  };
}
