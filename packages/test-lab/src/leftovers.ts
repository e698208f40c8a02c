import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SOCKET_DIR, socketPath } from "@wasm-shims/shim-core/src/cli/socket.ts";
import { systemPath } from "./ctr.ts";
import {
  fifoRoot,
  ourContainerDirs,
  ourFifoDirs,
  removeFiles,
  runcStateDirs,
  strayProcesses,
} from "./leftover-files.ts";
import { whyNotExited } from "./leftover-daemon.ts";
import { isPrivateNamespace } from "./namespace.ts";
import {
  argAfter,
  cgroupMounts,
  cgroupProcs,
  descendants,
  isUnder,
  listProcs,
  openFiles,
  readMounts,
  subdirs,
  waitGone,
  type ProcInfo,
} from "./procfs.ts";

/** What is known about one containerd instance; `ids` holds "<namespace>/<container id>". */
export interface Footprint {
  dir: string;
  socket: string;
  namespaces: Set<string>;
  ids: Set<string>;
  /** When the instance started (epoch ms): host-wide dirs older than that are not ours. Default 0. */
  since?: number;
}

interface RuncEntry {
  root: string;
  ns: string;
  id: string;
  pid: number;
}

// Paths hard-coded in containerd 1.6 and its runc shim, shared by every instance on the host.
// runc's shim keeps runc state in /run/containerd/runc/<ns>; our shims in /run/containerd/<engine>/<ns>.
const stateDir = "/run/containerd";
const runcRoots = () =>
  subdirs(stateDir)
    .map((d) => join(stateDir, d))
    .filter((d) => d !== SOCKET_DIR && d !== fifoRoot);

/** A shim process and the container id containerd started it for (`-id`). */
export interface ShimProcess extends ProcInfo {
  id: string;
}

/** Live shims of the containerd at `socket`, which starts every shim with `-address <grpc socket>`. */
export function shimProcesses(socket: string, procs: readonly ProcInfo[] = listProcs()): ShimProcess[] {
  return procs
    .filter((p) => p.state !== "Z" && argAfter(p.argv, "-address") === socket)
    .map((p) => ({ ...p, id: argAfter(p.argv, "-id") ?? "" }));
}

/** A spare daemon (shim-core's cli/spare.ts): a shim waiting for containerd's next `start`. */
export const isSpare = (p: Pick<ProcInfo, "argv">): boolean => p.argv.at(-1) === "spare";

/**
 * While its containerd runs, each shim executable may keep one spare daemon waiting: that one is
 * not left behind. A second spare of one executable is, and so is any spare once containerd is gone.
 */
function waitingSpares(shims: readonly ShimProcess[]): Set<number> {
  // Its control socket is named for its executable and containerd.
  const byControl = new Map<string, number>();
  for (const p of shims.filter(isSpare)) {
    const control = argAfter(p.argv, "-socket") ?? "";
    if (!byControl.has(control)) byControl.set(control, p.pid);
  }
  return new Set(byControl.values());
}

/** Shims, what they started, ctr clients (which get `--address` from us), and orphans still pointing into our dir. */
function ourProcesses(fp: Footprint, allowSpares = false) {
  const procs = listProcs().filter((p) => p.state !== "Z");
  const all = shimProcesses(fp.socket, procs);
  const spares = allowSpares ? waitingSpares(all) : new Set<number>();
  const shims = all.filter((p) => !spares.has(p.pid));
  const shimPids = new Set(shims.map((p) => p.pid));
  const clients = procs.filter((p) => argAfter(p.argv, "--address") === fp.socket);
  const children = descendants(procs, [...shimPids, ...spares]).filter(
    (c) => !shimPids.has(c.pid) && !spares.has(c.pid),
  );
  const known = new Set([...shims, ...clients, ...children].map((p) => p.pid).concat([...spares]));
  const strays = strayProcesses(fp.dir, procs).filter((p) => !known.has(p.pid));
  return { shims, clients, children, strays };
}

/** Host files naming our containers that no process of ours accounts for. */
function ourFiles(fp: Footprint): string[] {
  const reported = new Set(ourRuncContainers(fp.dir).map((r) => join(r.root, r.id)));
  return [
    ...ourFifoDirs(fp.ids, fp.since ?? 0),
    ...runcStateDirs(runcRoots(), fp.ids).filter((d) => !reported.has(d)),
    ...ourContainerDirs(fp.dir, fp.ids),
  ];
}

/** runc state of containers whose bundle lies in our state dir, found in any namespace's root. */
function ourRuncContainers(dir: string): RuncEntry[] {
  const found: RuncEntry[] = [];
  for (const [ns, root] of runcRoots().flatMap((r) => subdirs(r).map((n) => [n, join(r, n)] as const))) {
    for (const id of subdirs(root)) {
      try {
        const state = JSON.parse(readFileSync(join(root, id, "state.json"), "utf8")) as {
          init_process_pid?: number;
          config?: { labels?: string[] };
        };
        const bundle = state.config?.labels?.find((l) => l.startsWith("bundle="))?.slice(7) ?? "";
        if (isUnder(bundle, dir)) found.push({ root, ns, id, pid: state.init_process_pid ?? 0 });
      } catch {
        // Another runtime's layout, or a container being created or deleted right now.
      }
    }
  }
  return found;
}

/** Namespaces and container ids that this instance's files and log still mention. */
export function footprintFromDisk(fp: Footprint, logText: string): void {
  const add = (ns: string, id: string) => {
    fp.namespaces.add(ns);
    fp.ids.add(`${ns}/${id}`);
  };
  for (const top of ["state", "root"]) {
    const tasks = join(fp.dir, top, "io.containerd.runtime.v2.task");
    for (const ns of subdirs(tasks)) for (const id of subdirs(join(tasks, ns))) add(ns, id);
  }
  for (const r of ourRuncContainers(fp.dir)) add(r.ns, r.id);
  for (const m of logText.matchAll(/io\.containerd\.runtime\.v2\.task\/([\w.-]+)\/([\w.-]+)/g))
    add(m[1] ?? "", m[2] ?? "");
  for (const m of logText.matchAll(/ id=([\w.-]+) namespace=([\w.-]+)/g)) add(m[2] ?? "", m[1] ?? "");
  // CRI always works in k8s.io and logs the ids it hands out.
  for (const m of logText.matchAll(/returns (?:sandbox|container) id \\?"([0-9a-f]{64})/g)) add("k8s.io", m[1] ?? "");
}

/**
 * Cgroup directories that belong to us: everything under a private namespace, but in shared
 * namespaces (default, k8s.io) only the ids we know, since other instances use the same paths.
 * Deepest first, so they can be removed in order.
 */
function ourCgroups(fp: Footprint, mounts: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const mount of mounts) {
    for (const ns of fp.namespaces) {
      const base = join(mount, ns);
      const ids = isPrivateNamespace(ns)
        ? subdirs(base)
        : [...fp.ids].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1));
      for (const id of ids) if (existsSync(join(base, id))) dirs.push(...cgroupTree(join(base, id)));
    }
  }
  return dirs;
}

/** `dir` and every cgroup below it, deepest first, so they can be removed in order. */
export function cgroupTree(dir: string): string[] {
  return [...subdirs(dir).flatMap((sub) => cgroupTree(join(dir, sub))), dir];
}

/** One line per cgroup path rather than per hierarchy: v1 hosts have about ten hierarchies. */
export function describeCgroups(dirs: readonly string[], mounts: readonly string[] = cgroupMounts()): string[] {
  const byPath = new Map<string, { where: string[]; pids: Set<number> }>();
  for (const dir of dirs) {
    const mount = mounts.find((m) => isUnder(dir, m)) ?? "";
    const rel = dir.slice(mount.length);
    const entry = byPath.get(rel) ?? { where: [], pids: new Set<number>() };
    entry.where.push(basename(mount));
    for (const pid of cgroupProcs(dir)) entry.pids.add(pid);
    byPath.set(rel, entry);
  }
  return [...byPath].map(
    ([rel, e]) =>
      `cgroup ${rel} (${e.pids.size > 0 ? `processes ${[...e.pids].join(" ")}` : "empty"}) in ${e.where.join(",")}`,
  );
}

/** The socket containerd's shims listen on for `key` ("<namespace>/<id>"). */
function shimSocket(fp: Footprint, key: string): string {
  const slash = key.indexOf("/");
  return socketPath(fp.socket, key.slice(0, slash), key.slice(slash + 1));
}

function describe(kind: string, p: ProcInfo): string {
  return `${kind} pid ${p.pid}: ${p.argv.join(" ")}`;
}

/** Whether a line of findLeftovers() is a spare daemon (described from its argv, which ends with the action word). */
export const isSpareLeftover = (line: string): boolean => line.startsWith("shim pid ") && line.endsWith(" spare");

export function findLeftovers(fp: Footprint, allowSpares = false): string[] {
  const { shims, clients, children, strays } = ourProcesses(fp, allowSpares);
  const out = [
    ...shims.map((p) => describe("shim", p) + whyNotExited(p)),
    ...children.map((p) => describe(`shim child (ppid ${p.ppid})`, p)),
    ...clients.map((p) => describe("ctr client", p)),
    ...strays.map((p) => describe(`orphan (ppid ${p.ppid})`, p)),
    ...readMounts()
      .filter((m) => isUnder(m.target, fp.dir))
      .map((m) => `mount ${m.target} (${m.fstype} from ${m.source})`),
    ...ourRuncContainers(fp.dir).map((r) => `runc container ${r.id} in ${r.root} (init pid ${r.pid})`),
  ];
  const mounts = cgroupMounts();
  out.push(...describeCgroups(ourCgroups(fp, mounts), mounts));
  for (const key of fp.ids)
    if (existsSync(shimSocket(fp, key))) out.push(`shim socket ${shimSocket(fp, key)} (${key})`);
  out.push(...ourFiles(fp).map((f) => `file ${f}`));
  return out;
}

function run(file: string, args: string[]): void {
  spawnSync(file, args, { stdio: "ignore", timeout: 10_000, env: { PATH: systemPath } });
}

/** Forcefully removes everything findLeftovers() would report, once the daemon is gone. */
export async function removeLeftovers(fp: Footprint): Promise<void> {
  const { shims, clients, children, strays } = ourProcesses(fp);
  const victims = [...children, ...shims, ...clients, ...strays];
  // ctr removes a task's FIFO dir when it deletes the task; a killed task never gets there, and
  // only the processes holding the FIFOs tell which of the host's dirs are ours.
  const fifos = victims.flatMap((p) => openFiles(p.pid)).filter((f) => isUnder(f, fifoRoot) && f !== fifoRoot);
  const fifoDirs = new Set(fifos.map((f) => join(fifoRoot, f.slice(fifoRoot.length + 1).split("/")[0] ?? "")));
  for (const p of victims) killQuietly(p.pid);
  await Promise.all(victims.map((p) => waitGone(p.pid, 3_000)));
  // A spare unlinks its control socket when it exits by itself, not when killed.
  for (const control of shims.filter(isSpare).map((p) => argAfter(p.argv, "-socket") ?? ""))
    if (control) removeFiles([control, `${control}.claim`]);
  for (const dir of fifoDirs) rmSync(dir, { recursive: true, force: true });
  for (const r of ourRuncContainers(fp.dir)) run("runc", ["--root", r.root, "delete", "--force", r.id]);
  const mounts = readMounts().filter((m) => isUnder(m.target, fp.dir));
  for (const m of mounts.sort((a, b) => b.target.length - a.target.length)) run("umount", ["-l", m.target]);
  // Only now: a bundle dir may have held a mounted rootfs.
  removeFiles(ourFiles(fp));
  for (const dir of ourCgroups(fp, cgroupMounts())) await removeCgroup(dir);
  for (const ns of fp.namespaces) {
    if (!isPrivateNamespace(ns)) continue;
    // runc leaves the per-namespace parents behind; nobody else will ever use these names.
    for (const mount of cgroupMounts()) tryRmdir(join(mount, ns));
    for (const r of runcRoots()) tryRmdir(join(r, ns));
  }
  for (const key of fp.ids) {
    try {
      unlinkSync(shimSocket(fp, key));
    } catch {
      // Already removed by its shim, as it should be.
    }
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // It exited on its own meanwhile.
  }
}

/** True once `path` is gone, whether removed now or already absent. */
export function tryRmdir(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** A cgroup can only be removed once its processes are dead, which takes a moment after SIGKILL. */
export async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const pid of cgroupProcs(dir)) killQuietly(pid);
    if (tryRmdir(dir)) return;
    await sleep(20);
  }
}
