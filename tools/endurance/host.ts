import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { sampleProc, type ProcSample } from "./sample.ts";

/**
 * Every path under `roots` whose name contains `tag` (which every container id of a run carries),
 * to `depth` levels. Catches what no specific check knows about, e.g. a new kind of file in /run.
 */
export function taggedFiles(tag: string, roots: readonly string[], depth = 6): string[] {
  const found: string[] = [];
  const walk = (dir: string, left: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.name.includes(tag)) found.push(path);
      else if (e.isDirectory() && left > 1) walk(path, left - 1);
    }
  };
  for (const r of roots) walk(r, depth);
  return found;
}

/**
 * What the instance left once a part's containers are all gone: the harness's list (processes,
 * mounts, cgroups, runc state, sockets, FIFOs, containerd's per-container dirs) plus any file in
 * /run or the instance's dir named with the run's tag. A shim daemon exits a moment after its
 * last Delete, so the list gets `settleMs` to empty itself.
 */
export async function leftoversOf(ctd: Containerd, tag: string, settleMs = 10_000): Promise<string[]> {
  const look = async () => [
    ...(await ctd.leftovers()),
    ...taggedFiles(tag, ["/run", ctd.dir]).map((f) => `tagged file ${f}`),
  ];
  try {
    return await eventually(async () => {
      const found = await look();
      if (found.length > 0) throw new Error(found.join("\n"));
      return found;
    }, settleMs);
  } catch {
    return look();
  }
}

export interface Checkpoint {
  /** Containers finished so far. */
  done: number;
  /** Seconds since the part began. */
  t: number;
  /** containerd's own memory and fds: connections a shim never closes would pile up there. */
  containerd: ProcSample;
  leftovers: string[];
}

export async function checkpoint(ctd: Containerd, tag: string, done: number, t0: number): Promise<Checkpoint> {
  const leftovers = await leftoversOf(ctd, tag);
  return {
    done,
    t: Math.round((Date.now() - t0) / 1000),
    containerd: sampleProc(ctd.pid, (Date.now() - t0) / 1000),
    leftovers,
  };
}
