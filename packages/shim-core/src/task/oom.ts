import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Where a process's memory cgroup is, read once while it runs: on cgroup v1 the `memory` hierarchy,
 * on v2 the unified one. runc keeps the cgroup after exit (`run --keep`) until the shim deletes the
 * container, so its OOM count can still be read when the process has died.
 */
export async function memoryCgroup(pid: number): Promise<string | undefined> {
  const text = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    const [, controllers, path] = line.split(":");
    if (path === undefined) continue;
    if (controllers!.split(",").includes("memory")) return join("/sys/fs/cgroup/memory", path);
  }
  const unified = text.split("\n").find((l) => l.startsWith("0::"));
  return unified ? join("/sys/fs/cgroup", unified.slice(3)) : undefined;
}

/** The kernel's count of OOM kills in a memory cgroup (v1 memory.oom_control, v2 memory.events). */
export async function oomKills(cgroup: string | undefined): Promise<number> {
  if (!cgroup) return 0;
  for (const file of ["memory.oom_control", "memory.events"]) {
    const text = await readFile(join(cgroup, file), "utf8").catch(() => undefined);
    const match = text && /^oom_kill (\d+)$/m.exec(text);
    if (match) return Number(match[1]);
  }
  return 0;
}
