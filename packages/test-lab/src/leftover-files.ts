import { existsSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { isUnder, listProcs, openFiles, subdirs, type ProcInfo } from "./procfs.ts";

/**
 * Files that name one of an instance's containers, beyond mounts, cgroups and runc state: the
 * FIFO dirs ctr makes in the host-wide /run/containerd/fifo, runc state dirs that never got a
 * state.json, and the per-container dirs containerd and CRI keep in the instance's own root and
 * state. Apart from leftovers.ts to keep that file about processes, mounts and cgroups.
 */

export const fifoRoot = "/run/containerd/fifo";

/** containerd's per-container dirs under its root and state: task bundles, CRI containers and sandboxes. */
const perContainerDirs = [
  "io.containerd.runtime.v2.task/<ns>",
  "io.containerd.grpc.v1.cri/containers",
  "io.containerd.grpc.v1.cri/sandboxes",
];

/** Bare container ids ("<ns>/<id>" → id). */
function bareIds(ids: ReadonlySet<string>): Set<string> {
  return new Set([...ids].map((k) => k.slice(k.indexOf("/") + 1)));
}

/**
 * ctr names its FIFOs `<id>-stdin|stdout|stderr` in a random dir under /run/containerd/fifo and
 * removes the dir when it deletes the task itself. Every containerd on the host uses that dir, so
 * a dir counts as ours only if it names one of our ids, appeared after `since`, and no live
 * process holds one of its FIFOs (another instance's running client would).
 */
export function ourFifoDirs(
  ids: ReadonlySet<string>,
  since: number,
  procs: readonly ProcInfo[] = listProcs(),
): string[] {
  const names = bareIds(ids);
  const candidates = subdirs(fifoRoot)
    .map((d) => join(fifoRoot, d))
    .filter((dir) => {
      let files: string[];
      try {
        files = readdirSync(dir);
        if (statSync(dir).mtimeMs < since) return false;
      } catch {
        return false;
      }
      return files.some(
        (f) => names.has(f.replace(/-(stdin|stdout|stderr)$/, "")) && /-(stdin|stdout|stderr)$/.test(f),
      );
    });
  if (candidates.length === 0) return [];
  const held = new Set(procs.filter((p) => p.state !== "Z").flatMap((p) => openFiles(p.pid)));
  return candidates.filter((dir) => ![...held].some((f) => isUnder(f, dir)));
}

/** containerd's (and CRI's) dirs for our container ids, under the instance's root and state. */
export function ourContainerDirs(dir: string, ids: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const key of ids) {
    const slash = key.indexOf("/");
    const [ns, id] = [key.slice(0, slash), key.slice(slash + 1)];
    for (const top of ["state", "root"]) {
      for (const sub of perContainerDirs) {
        if (sub.includes("grpc") && ns !== "k8s.io") continue;
        const path = join(dir, top, sub.replace("<ns>", ns), id);
        if (existsSync(path)) found.push(path);
      }
    }
  }
  return found;
}

/** runc state dirs for our ids, whether or not runc got as far as writing state.json. */
export function runcStateDirs(runcRoots: readonly string[], ids: ReadonlySet<string>): string[] {
  return runcRoots.flatMap((root) =>
    subdirs(root).flatMap((ns) =>
      subdirs(join(root, ns))
        .filter((id) => ids.has(`${ns}/${id}`))
        .map((id) => join(root, ns, id)),
    ),
  );
}

function cwdOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return "";
  }
}

/**
 * Processes that still point into the instance's dir once their shim is gone: a `runc run` or
 * `runc exec` whose shim was killed (init adopts it, so it is no shim's child), or a `start` or
 * `delete` that hangs in a bundle. containerd itself runs there too and is not counted.
 */
export function strayProcesses(dir: string, procs: readonly ProcInfo[]): ProcInfo[] {
  return procs.filter((p) => {
    if (p.state === "Z" || p.pid === process.pid) return false;
    if (p.argv[0]?.endsWith("containerd") && p.argv.includes(join(dir, "config.toml"))) return false;
    return p.argv.some((a) => isUnder(a, dir)) || isUnder(cwdOf(p.pid), dir);
  });
}

export function removeFiles(paths: readonly string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}
