import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

// Reading what the snooping guest (test-fixtures programs/c/snoop.c) printed, and deciding what of
// it a guest must never have seen. Pure functions: isolation.ts runs the guest, test/ checks these.

/** FNV-1a 64 of the first 64 KiB, as snoop.c prints it. */
export function sampleHash(file: string): string {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(64 * 1024);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, got)) > 0; ) got += n;
    let h = 0xcbf29ce484222325n;
    for (let i = 0; i < got; i++) h = BigInt.asUintN(64, (h ^ BigInt(buf[i]!)) * 0x100000001b3n);
    return h.toString(16).padStart(16, "0");
  } finally {
    closeSync(fd);
  }
}

/** A host file a guest must not see: where it is, and the fingerprint snoop would print for it. */
export interface Forbidden {
  path: string;
  size: number;
  hash: string;
}

/** Every regular file under each path (files or directories, recursively), fingerprinted. */
export function forbiddenFiles(paths: readonly string[]): Forbidden[] {
  const out: Forbidden[] = [];
  const visit = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else if (st.isFile() && st.size > 0) out.push({ path: p, size: st.size, hash: sampleHash(p) });
  };
  paths.forEach(visit);
  return out;
}

export interface SnoopReport {
  /** Regular files the walk found, by path (outside the kernel's trees and /dev too). */
  files: string[];
  /** Every path snoop printed (files, dirs, links, listings' entries). */
  paths: string[];
  /** Every "<size> <hash>" it read, with where it read it. */
  contents: { path: string; size: number; hash: string }[];
  /** Lines of /proc tables (maps, mountinfo, environ, cmdline), by table. */
  tables: Record<string, string[]>;
  /** Directory listings (from links and probes), by path. */
  listings: Record<string, string[]>;
  /** Where the walk stopped short (too deep, too many entries): cycles through links shown as directories. */
  cut: string[];
  done: boolean;
}

export function parseSnoop(output: string): SnoopReport {
  const report: SnoopReport = { files: [], paths: [], contents: [], tables: {}, listings: {}, cut: [], done: false };
  for (const line of output.split("\n")) {
    if (line === "done") report.done = true;
    let m;
    if ((m = /^C (\S+): (.*)$/.exec(line))) {
      (report.tables[m[1]!] ??= []).push(m[2]!);
      continue;
    }
    if ((m = /^([STP]) (\S+):(.*)$/.exec(line))) {
      const names = m[3]!.trim() === "" ? [] : m[3]!.trim().split(" ");
      report.listings[m[2]!] = names;
      report.paths.push(m[2]!, ...names.map((n) => join(m![2]!, n)));
      continue;
    }
    if ((m = /^([FTRW]) (?:\d+ \S+ )?(\S+) (\d+) ([0-9a-f]{16})\b/.exec(line))) {
      report.contents.push({ path: m[2]!, size: Number(m[3]), hash: m[4]! });
      if (m[1] === "F") report.files.push(m[2]!);
      report.paths.push(m[2]!);
      continue;
    }
    if ((m = /^X (.*)$/.exec(line))) report.cut.push(m[1]!);
    else if ((m = /^[DLOEV] (\S+)/.exec(line))) report.paths.push(m[1]!);
  }
  return report;
}

export interface Expectations {
  /** Regular files the guest may find outside /dev, /proc and /sys: its image's and its mounts'. */
  allowedFiles: readonly string[];
  /** Regular files allowed under /dev (e.g. CRI's /dev/termination-log). */
  allowedDevFiles?: readonly string[];
  /** Host files whose contents must never be read: the runner's, the host's, other tenants'. */
  forbidden: readonly Forbidden[];
  /** Names that must appear nowhere (e.g. ".wasm-shim", a cache entry's key). */
  forbiddenNames: readonly string[];
  /** Directories known to lead back into the container's own root (a volume's link to "/"). */
  rootAliases?: readonly string[];
}

/** `path` with every leading alias of the container's root taken off: /data/root/etc/motd -> /etc/motd. */
function canonical(path: string, aliases: readonly string[]): string {
  for (let changed = true; changed; ) {
    changed = false;
    for (const alias of aliases) {
      if (path.startsWith(`${alias}/`)) {
        path = path.slice(alias.length);
        changed = true;
      }
    }
  }
  return path;
}

/** What every container's /dev holds (an engine may show some as files of its own). */
const STANDARD_DEVICES = new Set([
  "null",
  "zero",
  "full",
  "random",
  "urandom",
  "tty",
  "console",
  "ptmx",
  "stdin",
  "stdout",
  "stderr",
]);

/** Everything the guest saw that it should not have; [] when it is contained. */
export function violations(report: SnoopReport, exp: Expectations): string[] {
  const found: string[] = [];
  if (!report.done) found.push("snoop did not finish its walk");
  const allowed = new Set(exp.allowedFiles);
  const allowedDev = new Set(exp.allowedDevFiles ?? []);
  for (const seen of report.files) {
    const f = canonical(seen, exp.rootAliases ?? []);
    const kernel = /^\/(proc|sys)(\/|$)/.test(f);
    const ok = f.startsWith("/dev/") ? allowedDev.has(f) || STANDARD_DEVICES.has(f.slice(5)) : kernel || allowed.has(f);
    if (!ok) found.push(`file outside its image and mounts: ${seen}`);
  }
  for (const c of report.contents) {
    const hit = exp.forbidden.find((x) => x.size === c.size && x.hash === c.hash);
    if (hit) found.push(`read ${c.path}, which is the host's ${hit.path}`);
  }
  const texts = [...report.paths, ...Object.values(report.tables).flat()];
  for (const name of exp.forbiddenNames) {
    const where = texts.find((t) => t.includes(name));
    if (where !== undefined) found.push(`saw ${JSON.stringify(name)} in ${where}`);
  }
  return found;
}
