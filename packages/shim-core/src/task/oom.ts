import { readFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * The container's memory cgroup, from runc's own state: `run --keep` leaves it (and the cgroup) in
 * place after the process dies, so this works even for a task the OOM killer ended at once. On
 * cgroup v1 it is the `memory` hierarchy's path, on v2 the unified one (key "").
 */
export async function memoryCgroup(runcRoot: string, id: string): Promise<string | undefined> {
  try {
    const state = JSON.parse(await readFile(join(runcRoot, id, "state.json"), "utf8")) as { cgroup_paths?: Record<string, string> };
    return state.cgroup_paths?.memory ?? state.cgroup_paths?.[""];
  } catch {
    return undefined;
  }
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
