import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";

/** What every tool's run JSON (tools/bench, tools/reliability) starts with: when, how, where, what. */
export interface RunHeader {
  schema: 1;
  date: string;
  command: string;
  quick: boolean;
  durationS: number;
  machine: Machine;
  engines: string[];
  /** Shim versions from `-v`, e.g. their commit. */
  versions: Record<string, string>;
}

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  kernel: string;
  os: string;
  cgroup: "v1" | "v2";
  node: string;
  containerd: string;
  runc: string;
}

/** A command's first line of output, or "unknown" when it cannot run. */
export function firstLine(file: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], ...(cwd ? { cwd } : {}) })
      .split("\n")[0]!
      .trim();
  } catch {
    return "unknown";
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function machine(): Machine {
  let cgroup: Machine["cgroup"] = "v1";
  try {
    statSync("/sys/fs/cgroup/cgroup.controllers");
    cgroup = "v2";
  } catch {
    // hybrid or pure v1
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    os: osName(),
    cgroup,
    node: process.version,
    containerd: firstLine("containerd", ["--version"]),
    runc: firstLine("runc", ["--version"]),
  };
}

/** The engine names of every `containerd-shim-<name>-v1` in `binDir`. */
export function findEngines(binDir: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(binDir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^containerd-shim-(.+)-v1$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

export const shimBinary = (binDir: string, engine: string): string => join(binDir, `containerd-shim-${engine}-v1`);
/**
 * Copies the shims a run measures into its own folder: a rebuild of dist/bin during the run cannot
 * mix two versions, and every run maps executables written the same way. How a file was written
 * decides the size of its page-cache folios, and a fault maps a whole folio: the same idle node
 * task measured 151 MB RSS (94.6 PSS) from the build's own file and 124 (83.5) from a copy.
 */
export function copyShims(binDir: string, engines: readonly string[], into: string): string {
  mkdirSync(into, { recursive: true });
  for (const e of engines) copyFileSync(shimBinary(binDir, e), shimBinary(into, e));
  return into;
}
export const runtimeOf = (engine: string): string => `io.containerd.${engine}.v1`;
