import { rmdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cgroupMounts, cgroupProcs, subdirs } from "./procfs.ts";

/**
 * kubelet gives every pod a cgroup parent (`/kubepods/…/pod<uid>` with the cgroupfs driver) and
 * CRI puts each container at `<parent>/<id>`, outside the `/<namespace>/<id>` paths the harness
 * knows. These helpers cover a test's own root of such parents.
 */

/** Every cgroup directory under `root` (a path like `/wasm-cri-123`) in any hierarchy, deepest first. */
export function cgroupsUnder(root: string): string[] {
  const dirs: string[] = [];
  const walk = (path: string) => {
    for (const sub of subdirs(path)) walk(join(path, sub));
    dirs.push(path);
  };
  for (const mount of cgroupMounts()) for (const sub of subdirs(join(mount, root))) walk(join(mount, root, sub));
  return dirs;
}

/** Container cgroups (directories below a pod's parent) still under `root`, one line per path. */
export function containerCgroupsUnder(root: string, podParents: ReadonlySet<string>): string[] {
  const byPath = new Map<string, { where: string[]; pids: number[] }>();
  for (const mount of cgroupMounts()) {
    for (const dir of cgroupsUnder(root).filter((d) => d.startsWith(`${mount}/`))) {
      const rel = dir.slice(mount.length);
      if (podParents.has(rel)) continue;
      const entry = byPath.get(rel) ?? { where: [], pids: [] };
      entry.where.push(mount.slice(mount.lastIndexOf("/") + 1));
      entry.pids.push(...cgroupProcs(dir));
      byPath.set(rel, entry);
    }
  }
  return [...byPath].map(([rel, e]) => `cgroup ${rel} (${e.pids.length > 0 ? `processes ${e.pids.join(" ")}` : "empty"}) in ${e.where.join(",")}`);
}

/** Removes a pod's parent cgroup, as kubelet does once the pod is gone; false if something is still in it. */
export function removePodCgroup(parent: string): boolean {
  let ok = true;
  for (const mount of cgroupMounts()) {
    try {
      rmdirSync(join(mount, parent));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") ok = false;
    }
  }
  return ok;
}

/** Removes everything under `root` and `root` itself; kills what still runs there first. */
export async function removeCgroupsUnder(root: string): Promise<void> {
  for (const dir of [...cgroupsUnder(root), ...cgroupMounts().map((m) => join(m, root))]) {
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const pid of cgroupProcs(dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone already.
        }
      }
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") break;
        await sleep(20);
      }
    }
  }
}
