// containerd's `start` run against a built executable as containerd runs it, and the processes it
// leaves: shared by the tests of the native entry's `start` (fast-start, own-spare).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const binDir = fileURLToPath(new URL("../../../../dist/bin", import.meta.url));

let seq = 0;
/** The id of the last container `startIn` started (c1, c2, ...). */
export const lastId = () => `c${seq}`;

/**
 * Runs `start` for a new container whose bundle is a new directory under `dir`, as containerd
 * does; not spawnSync, which would hold up a stand-in spare's answer.
 */
export async function startIn(
  dir: string,
  address: string,
  exe: string,
  input: Buffer,
  env: Record<string, string> = {},
  flags: string[] = [],
) {
  const bundle = join(dir, `b${++seq}`);
  mkdirSync(bundle);
  const args = [
    "-namespace",
    "ns",
    "-address",
    address,
    "-publish-binary",
    "/bin/true",
    "-id",
    `c${seq}`,
    ...flags,
    "start",
  ];
  const child = spawn(exe, args, { cwd: bundle, env: { PATH: "/usr/bin:/bin", ...env } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  child.stdin.end(input);
  const [status] = (await once(child, "close")) as [number | null];
  return { status, stdout: Buffer.concat(out), stderr: Buffer.concat(err), bundle, args };
}

export interface Found {
  pid: number;
  ppid: number;
  session: number;
  cmdline: string;
}

/** Processes whose environment has `marker` and whose command line has `text`. */
export function processesWith(marker: string, text: string): Found[] {
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // A spawned daemon's arguments are separate; an adopted spare's title is one string.
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      const environ = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (!cmdline.includes(text) || !environ.includes(marker)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [, ppid, , session] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      found.push({ pid: Number(name), ppid: Number(ppid), session: Number(session), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
