import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Single-letter state from /proc/<pid>/stat; "Z" is a zombie. */
  state: string;
  argv: string[];
}

export interface MountInfo {
  target: string;
  fstype: string;
  source: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

export function readProc(pid: number): ProcInfo | undefined {
  const stat = readOr(`/proc/${pid}/stat`, "");
  // The command name may itself contain ") ", so fields are counted from the last ')'.
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const [state = "?", ppid = "0"] = stat.slice(close + 2).split(" ");
  return { pid, ppid: Number(ppid), state, argv: cmdlineArgv(readOr(`/proc/${pid}/cmdline`, "")) };
}

/** The value of `flag` in a command line (`-flag value` or `-flag=value`). */
export function argAfter(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** /proc/<pid>/cmdline as argv. */
export function cmdlineArgv(cmdline: string): string[] {
  let argv = cmdline.split("\0");
  while (argv.length > 1 && argv.at(-1) === "") argv.pop();
  // A process that set its title (an adopted spare daemon) has one string, padded with NULs.
  if (argv.length === 1 && argv[0]!.includes(" -")) argv = argv[0]!.split(" ");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}

export function listProcs(): ProcInfo[] {
  const procs: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) procs.push(info);
  }
  return procs;
}

/** Zombies count as gone: this machine's init does not reap orphans, so they can linger forever. */
export function isAlive(pid: number): boolean {
  const info = readProc(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Every live process below `roots` (not the roots themselves), found by walking ppid links. */
export function descendants(procs: readonly ProcInfo[], roots: readonly number[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: ProcInfo[] = [];
  const queue = [...roots];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found.filter((p) => p.state !== "Z");
}

/** mountinfo escapes blanks and backslashes in paths as octal (\040). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function readMounts(): MountInfo[] {
  return readOr("/proc/self/mountinfo", "")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => {
      const [left = "", right = ""] = line.split(" - ");
      const target = unescapeMountPath(left.split(" ")[4] ?? "");
      const [fstype = "", source = ""] = right.split(" ");
      return { target, fstype, source: unescapeMountPath(source) };
    });
}

export function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * The mount points of every cgroup hierarchy: one for pure v2, one per v1 controller group plus
 * the "unified" v2 mount on hybrid hosts. runc creates `<mount>/<ns>/<id>` in each of them.
 */
export function cgroupMounts(): string[] {
  const mounts = readMounts()
    .filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2")
    .map((m) => m.target);
  return [...new Set(mounts)].filter((m) => existsSync(m));
}

export function cgroupProcs(path: string): number[] {
  return readOr(`${path}/cgroup.procs`, "")
    .split("\n")
    .filter((line) => line.length > 0)
    .map(Number);
}

export function subdirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** Paths a process has open; empty once it is gone (or not ours to look at). */
export function openFiles(pid: number): string[] {
  const paths: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        paths.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // Closed while we looked.
      }
    }
  } catch {
    // Exited.
  }
  return paths;
}
