/** Whatever a run left, removed even when it failed half-way. */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { removeCgroup, tryRmdir } from "@wasm-shims/test-lab/leftovers.ts";
import { cgroupMounts, cgroupProcs, descendants, isUnder, listProcs, readMounts } from "@wasm-shims/test-lab/procfs.ts";
import type { Workspace } from "./containers.ts";
import { cgroupsUnder, filesUnder } from "./probe.ts";

/** Whatever a failed run left: the daemon's children, container processes, runc's records of them. */
export function killTree(pid: number, ws: Workspace, runcRoot: string): void {
  const victims = [
    ...descendants(listProcs(), [pid]).map((p) => p.pid),
    ...cgroupsUnder(ws.cgroupParent).flatMap((c) => cgroupProcs(c)),
  ];
  for (const v of victims) {
    try {
      process.kill(v, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  for (const id of filesUnder(runcRoot).filter((f) => !f.includes("/")))
    spawnSync("runc", ["--root", runcRoot, "delete", "--force", id], { timeout: 10_000 });
}

export async function cleanup(ws: Workspace, runcRoot: string): Promise<void> {
  for (const c of cgroupsUnder(ws.cgroupParent)) await removeCgroup(c);
  for (const m of cgroupMounts()) tryRmdir(join(m, ws.cgroupParent));
  rmSync(runcRoot, { recursive: true, force: true });
  // Without a private mount namespace the daemon's mounts are the host's: never delete through them.
  for (const m of readMounts()
    .filter((x) => isUnder(x.target, ws.dir))
    .sort((a, b) => b.target.length - a.target.length)) {
    spawnSync("umount", ["-l", m.target]);
  }
  rmSync(ws.dir, { recursive: true, force: true });
}
