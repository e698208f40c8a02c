import { readdirSync, readFileSync } from "node:fs";
import { isSpare } from "@wasm-shims/test-lab/leftovers.ts";
import { cmdlineArgv } from "@wasm-shims/test-lab/procfs.ts";

export interface ProcMem {
  pid: number;
  /** kB, as /proc reports them. */
  rss: number;
  hwm: number;
  pss: number;
  /** The part of rss that is the process's own memory (heap, malloc), and the part mapped from files. */
  rssAnon: number;
  rssFile: number;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function kB(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

export function procMem(pid: number): ProcMem {
  const status = read(`/proc/${pid}/status`);
  return {
    pid,
    rss: kB(status, "VmRSS"),
    hwm: kB(status, "VmHWM"),
    pss: kB(read(`/proc/${pid}/smaps_rollup`), "Pss"),
    rssAnon: kB(status, "RssAnon"),
    rssFile: kB(status, "RssFile"),
  };
}

export interface ProcEntry {
  pid: number;
  ppid: number;
  argv: string[];
}

export function processTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const [state, ppid] = stat.slice(close + 2).split(" ");
    if (state === "Z") continue;
    out.push({ pid: Number(name), ppid: Number(ppid), argv: cmdlineArgv(read(`/proc/${name}/cmdline`)) });
  }
  return out;
}

/**
 * The long-lived shim process of container `id`: its argv names the id and our containerd's socket
 * (other instances share this host), and it is not a short-lived `start` or `delete` call.
 */
export function shimPid(table: readonly ProcEntry[], socket: string, id: string): number | undefined {
  return table.find((p) => {
    const a = p.argv;
    const at = (flag: string) => a[a.indexOf(flag) + 1];
    return (
      a.includes("-id") &&
      at("-id") === id &&
      at("-address") === socket &&
      !a.includes("start") &&
      !a.includes("delete")
    );
  })?.pid;
}

/**
 * The spare daemons (shim-core's cli/spare.ts) of `engine`'s shim waiting for the containerd at
 * `socket`: a cost of the node, counted with its tasks.
 */
export function sparePids(table: readonly ProcEntry[], socket: string, engine: string): number[] {
  const binary = `containerd-shim-${engine}-v1`;
  return table
    .filter((p) => isSpare(p) && p.argv[p.argv.indexOf("-address") + 1] === socket)
    .filter((p) => p.argv[0]?.trim().split("/").at(-1) === binary)
    .map((p) => p.pid);
}

/** `root` and all its descendants: for the shims here, the runc process and the container's processes. */
export function tree(table: readonly ProcEntry[], root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface TreeMem {
  processes: number;
  /** MB (10^6 bytes). */
  rss: number;
  /** Sum of each process's own peak: an upper bound of the tree's simultaneous peak. */
  hwm: number;
  /** Proportional: shared pages (the shim binary is mapped by the shim and the runner) counted once. */
  pss: number;
}

export function treeMem(pids: readonly number[]): TreeMem {
  const mems = pids.map(procMem).filter((m) => m.rss > 0);
  const mb = (kb: number) => (kb * 1024) / 1e6;
  return {
    processes: mems.length,
    rss: mb(mems.reduce((s, m) => s + m.rss, 0)),
    hwm: mb(mems.reduce((s, m) => s + m.hwm, 0)),
    pss: mb(mems.reduce((s, m) => s + m.pss, 0)),
  };
}

/** Memory charged to the container's cgroup (v1 memory controller or v2), in MB; NaN when unknown. */
export function cgroupMemory(pid: number): number {
  const lines = read(`/proc/${pid}/cgroup`).split("\n");
  const v1 = lines.find((l) => /^\d+:[^:]*\bmemory\b[^:]*:/.test(l));
  if (v1) {
    const path = v1.slice(v1.indexOf(":", v1.indexOf(":") + 1) + 1);
    const text = read(`/sys/fs/cgroup/memory${path}/memory.usage_in_bytes`);
    if (text) return Number(text) / 1e6;
  }
  const v2 = lines.find((l) => l.startsWith("0::"));
  if (v2) {
    const text = read(`/sys/fs/cgroup${v2.slice(3)}/memory.current`);
    if (text) return Number(text) / 1e6;
  }
  return Number.NaN;
}
