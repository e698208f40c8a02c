import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
// Only its naming rule (a module of its own, with no imports): no descriptors are loaded.
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import type * as v2 from "../gen/cgroups/v2/metrics_pb.ts";
import * as wire from "../gen/wire/cgroups/v2/metrics.ts";
import { create, type WireMessage } from "../wire/codec.ts";
import { readCgroupFile } from "./cgroup-file.ts";

/**
 * A cgroup v2 directory read into `io.containerd.cgroups.v2.Metrics`, file for file what
 * containerd's runc shim reports there. runc's own `events --stats` (1.1) has no memory.events,
 * and 2.3's CRI decides OOMKilled from memory_events.oom_kill, so the shim reads the files itself.
 * Files a controller does not provide (it is not enabled for the cgroup) read as zero.
 */
export async function readCgroup2(dir: string): Promise<v2.Metrics> {
  const [cpuStat, memoryStat, memoryEvents, names] = await Promise.all([
    keyed(dir, "cpu.stat"),
    keyed(dir, "memory.stat"),
    keyed(dir, "memory.events"),
    readdir(dir).catch(() => [] as string[]),
  ]);
  const one = (file: string) => single(join(dir, file));
  const psi = (file: string) => pressure(join(dir, file));
  return create(wire.MetricsSchema, {
    pids: { current: await one("pids.current"), limit: await one("pids.max") },
    cpu: { ...fromKeyed(wire.CPUStatSchema, cpuStat), psi: await psi("cpu.pressure") },
    memory: {
      ...fromKeyed(wire.MemoryStatSchema, memoryStat),
      usage: await one("memory.current"),
      usageLimit: await one("memory.max"),
      maxUsage: await one("memory.peak"),
      swapUsage: await one("memory.swap.current"),
      swapLimit: await one("memory.swap.max"),
      swapMaxUsage: await one("memory.swap.peak"),
      psi: await psi("memory.pressure"),
    },
    // Absent, not zero, without the memory controller: "no OOM kill" must be a reading, not a default.
    ...(memoryEvents.size > 0 ? { memoryEvents: fromKeyed(wire.MemoryEventsSchema, memoryEvents) } : {}),
    io: {
      usage: parseIoStat(readCgroupFile(join(dir, "io.stat")) ?? ""),
      psi: await psi("io.pressure"),
    },
    hugetlb: await Promise.all(
      names
        .map((n) => /^hugetlb\.(.+)\.current$/.exec(n)?.[1])
        .filter((size): size is string => size !== undefined)
        .sort()
        .map(async (pagesize) => ({
          pagesize,
          current: await one(`hugetlb.${pagesize}.current`),
          max: await one(`hugetlb.${pagesize}.max`),
          failcnt: (await keyed(dir, `hugetlb.${pagesize}.events`)).get("max") ?? 0n,
        })),
    ),
  });
}

const MAX = 2n ** 64n - 1n;

/** A one-value file (`memory.current`, `pids.max`): "max" is the largest uint64, as containerd has it. */
async function single(path: string): Promise<bigint> {
  const text = (readCgroupFile(path) ?? "").trim();
  if (text === "max") return MAX;
  return /^\d+$/.test(text) ? BigInt(text) : 0n;
}

/** A flat-keyed file (`cpu.stat`, `memory.stat`, `memory.events`): one "key value" per line. */
export function parseKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, BigInt(m[2]!));
  }
  return out;
}

async function keyed(dir: string, file: string): Promise<Map<string, bigint>> {
  return parseKeyed(readCgroupFile(join(dir, file)) ?? "");
}

/** The kernel's keys are the proto field names (usage_usec, oom_kill, pgfault, …): map by name. */
function fromKeyed(table: WireMessage, values: Map<string, bigint>): Record<string, bigint> {
  const scalars = new Set(table.fields().flatMap(([, name, item]) => (typeof item === "function" ? [] : [name])));
  const out: Record<string, bigint> = {};
  for (const [key, value] of values) {
    const name = protoCamelCase(key);
    if (scalars.has(name)) out[name] = value;
  }
  return out;
}

/** A `*.pressure` file (PSI): "some avg10=0.12 avg60=0.05 avg300=0.01 total=12345", then "full …". */
export function parsePressure(text: string): MessageInitShape<typeof v2.PSIStatsSchema> | undefined {
  const out: MessageInitShape<typeof v2.PSIStatsSchema> = {};
  for (const line of text.split("\n")) {
    const [kind, ...pairs] = line.trim().split(/\s+/);
    if (kind !== "some" && kind !== "full") continue;
    const kv = new Map(pairs.map((p) => p.split("=") as [string, string]));
    out[kind] = {
      avg10: Number(kv.get("avg10") ?? 0),
      avg60: Number(kv.get("avg60") ?? 0),
      avg300: Number(kv.get("avg300") ?? 0),
      total: BigInt(/^\d+$/.test(kv.get("total") ?? "") ? kv.get("total")! : 0),
    };
  }
  return out.some || out.full ? out : undefined;
}

async function pressure(path: string) {
  // Reading a pressure file fails with EOPNOTSUPP when the kernel runs with psi=0.
  return parsePressure(readCgroupFile(path) ?? "");
}

/** `io.stat`: "8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…" per device. */
export function parseIoStat(text: string): MessageInitShape<typeof v2.IOEntrySchema>[] {
  const entries: MessageInitShape<typeof v2.IOEntrySchema>[] = [];
  for (const line of text.split("\n")) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = dev && /^(\d+):(\d+)$/.exec(dev);
    if (!m) continue;
    const kv = new Map(pairs.map((p) => p.split("=") as [string, string]));
    const n = (k: string) => (/^\d+$/.test(kv.get(k) ?? "") ? BigInt(kv.get(k)!) : 0n);
    entries.push({
      major: BigInt(m[1]!),
      minor: BigInt(m[2]!),
      rbytes: n("rbytes"),
      wbytes: n("wbytes"),
      rios: n("rios"),
      wios: n("wios"),
    });
  }
  return entries;
}
