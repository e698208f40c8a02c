import { join } from "node:path";
import { cgroupTree, describeCgroups, removeCgroup, tryRmdir } from "./leftovers.ts";
import { cgroupMounts, subdirs } from "./procfs.ts";

/**
 * kubelet gives every pod a cgroup parent (`/kubepods/…/pod<uid>` with the cgroupfs driver) and
 * CRI puts each container at `<parent>/<id>`, outside the `/<namespace>/<id>` paths the harness
 * knows. These helpers cover a test's own root of such parents.
 */

/** Every cgroup directory below `root` (a path like `/wasm-cri-123`) in the given hierarchies, deepest first. */
function cgroupsUnder(root: string, mounts: readonly string[]): string[] {
  return mounts.flatMap((m) => subdirs(join(m, root)).flatMap((sub) => cgroupTree(join(m, root, sub))));
}

/** Container cgroups (anything below `root` but the pod parents themselves), one line per path. */
export function containerCgroupsUnder(root: string, podParents: ReadonlySet<string> = new Set()): string[] {
  const mounts = cgroupMounts();
  const parents = new Set(mounts.flatMap((m) => [...podParents].map((p) => join(m, p))));
  return describeCgroups(
    cgroupsUnder(root, mounts).filter((d) => !parents.has(d)),
    mounts,
  );
}

/** Removes a pod's parent cgroup, as kubelet does once the pod is gone; false if something is still in it. */
export function removePodCgroup(parent: string): boolean {
  return cgroupMounts()
    .map((m) => tryRmdir(join(m, parent)))
    .every(Boolean);
}

/** Removes everything under `root` and `root` itself; kills what still runs there first. */
export async function removeCgroupsUnder(root: string): Promise<void> {
  const mounts = cgroupMounts();
  for (const dir of [...cgroupsUnder(root, mounts), ...mounts.map((m) => join(m, root))]) await removeCgroup(dir);
}
