import { join } from "node:path";
import { readCgroupFile } from "./cgroup-file.ts";
import { parseKeyed } from "./cgroup2.ts";

/** The memory cgroup: v1's memory hierarchy, else the unified one. */
export const memoryCgroup = (paths: Record<string, string>): string | undefined => paths["memory"] ?? paths[""];

/** cgroup v1 `memory.oom_control`, which has carried the `oom_kill` count since Linux 4.13. */
export async function oomControl(
  memoryDir: string | undefined,
): Promise<{ oomKillDisable: bigint; underOom: bigint; oomKill: bigint } | undefined> {
  if (!memoryDir) return undefined;
  const text = readCgroupFile(join(memoryDir, "memory.oom_control"));
  if (text === undefined) return undefined;
  const kv = parseKeyed(text);
  return {
    oomKillDisable: kv.get("oom_kill_disable") ?? 0n,
    underOom: kv.get("under_oom") ?? 0n,
    oomKill: kv.get("oom_kill") ?? 0n,
  };
}

/** The kernel's count of OOM kills in a memory cgroup: v1 memory.oom_control, v2 memory.events. */
export async function oomKills(memoryDir: string | undefined): Promise<number> {
  if (!memoryDir) return 0;
  for (const file of ["memory.oom_control", "memory.events"]) {
    const text = readCgroupFile(join(memoryDir, file));
    const count = text === undefined ? undefined : parseKeyed(text).get("oom_kill");
    if (count !== undefined) return Number(count);
  }
  return 0;
}
