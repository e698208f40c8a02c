import { spawn, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import type { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { shimProcesses } from "@wasm-shims/test-lab/leftovers.ts";
import { runtimeOf } from "../benchmark/machine.ts";
import { flatness, sampleProc, type Flatness, type ProcSample } from "./sample.ts";
import { enduranceImage, programFor } from "./setup.ts";

export interface IdleProcess {
  /** "jco daemon", or a control: "bare Node", "bare Node + 0.7 s timer". */
  name: string;
  samples: ProcSample[];
  flatness: Flatness;
}

export interface IdleResult {
  durationS: number;
  processes: IdleProcess[];
}

/**
 * Controls for the daemons: the Node the shims embed, started bare, once with nothing to do and
 * once with a timer as often as the daemon's orphan watch. What they gain over time is Node's
 * and glibc's own, with none of the shim's code.
 */
const controls: [string, string][] = [
  ["bare Node", "setInterval(() => {}, 1e9)"],
  ["bare Node + 0.7 s timer", "setInterval(() => {}, 700)"],
];

/**
 * One task per engine that does nothing (the sleep guest) and so sends the daemon nothing, beside
 * the bare-Node controls, for `durationS`, sampled every `sampleS`. jco's cache is empty in a run,
 * so its daemon's Create transpiles (in a child process) as a first Create on a node would.
 */
export async function runIdle(
  ctd: Containerd,
  engines: readonly string[],
  s: { durationS: number; sampleS: number },
  tag: string,
  log: (m: string) => void,
): Promise<IdleResult> {
  const children: ChildProcess[] = [];
  const pids = new Map<string, number>();
  const ids = engines.map((e) => [e, `${tag}-idle-${e}`] as const);
  try {
    for (const [name, code] of controls) {
      // tools/reliability runs on the pinned Node, the one the shims embed.
      const child = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
      children.push(child);
      pids.set(name, child.pid!);
    }
    for (const [e, id] of ids) {
      const r = await ctd.ctr([
        "run",
        "-d",
        "--runtime",
        runtimeOf(e),
        enduranceImage,
        id,
        programFor(e, "sleep"),
        "86400000",
      ]);
      if (r.code !== 0) throw new Error(`idle ${e}: ctr run -d: ${r.stderr.slice(0, 300)}`);
      const daemon = shimProcesses(ctd.socket).find((p) => p.id === id && p.argv.at(-1) === "serve");
      if (!daemon) throw new Error(`idle ${e}: no daemon for ${id}`);
      pids.set(`${e} daemon`, daemon.pid);
    }
    log(`idle: ${[...pids.keys()].join(", ")} for ${s.durationS} s`);
    const samples = new Map<string, ProcSample[]>([...pids.keys()].map((k) => [k, []]));
    const t0 = Date.now();
    for (let round = 0; Date.now() - t0 < s.durationS * 1000; round++) {
      const t = (Date.now() - t0) / 1000;
      for (const [name, pid] of pids) samples.get(name)!.push(sampleProc(pid, t));
      if (round % Math.max(1, Math.round(600 / s.sampleS)) === 0)
        log(
          `  idle ${Math.round(t)} s: ${[...samples].map(([k, v]) => `${k} ${v.at(-1)?.anonMB} MB anon`).join(", ")}`,
        );
      await sleep(Math.min(s.sampleS * 1000, Math.max(0, t0 + s.durationS * 1000 - Date.now())));
    }
    return {
      durationS: Math.round((Date.now() - t0) / 1000),
      processes: [...samples].map(([name, v]) => ({ name, samples: v, flatness: flatness(v) })),
    };
  } finally {
    for (const c of children) c.kill();
    for (const [, id] of ids) await ctd.removeContainer(id).catch(() => {});
  }
}
