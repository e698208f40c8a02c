import type { BinaryResult } from "./binary.ts";
import type { CaseResult } from "./coldstart.ts";
import type { BareNode } from "./bare-node.ts";
import type { ComputeResult } from "./compute.ts";
import type { CriResult } from "./cri.ts";
import type { RunHeader } from "./machine.ts";
import type { HostFloor } from "./host-floor.ts";
import type { DensityResult, MemoryResult } from "./memory.ts";
import { httpMetrics, type HttpSection } from "./http-report.ts";
import { criVariants } from "./report.ts";

export interface Results extends RunHeader {
  binary: BinaryResult[];
  coldStart: CaseResult[];
  /** hello.wasm and the large module on the host, no shim (absent in runs from before it was measured). */
  hostFloor?: HostFloor;
  /** Idle processes of the executables' Node with none of our code (absent in runs from before it was measured). */
  bareNode?: BareNode;
  memory: MemoryResult[];
  density: DensityResult[];
  compute: ComputeResult[];
  cri: CriResult;
  /** wasi:http serving under load (absent in runs from before it was measured). */
  http?: HttpSection;
  /** Whatever the private containerd left on the host after the run (expected empty). */
  leftovers: string[];
  /** Every headline figure as one flat name → number map, which `--compare` reads. */
  metrics: Record<string, number>;
}

export function flatMetrics(r: Omit<Results, "metrics">): Record<string, number> {
  const m: Record<string, number> = {};
  const put = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) m[k] = v;
  };
  for (const x of r.binary) {
    put(`binary.${x.engine}.sizeMB`, x.sizeMB);
    put(`binary.${x.engine}.versionMs`, x.versionMs.median);
    put(`binary.${x.engine}.bundleKB`, x.bundleKB);
  }
  for (const x of r.coldStart) {
    put(`coldStart.${x.label}.medianMs`, x.wallMs.median);
    put(`coldStart.${x.label}.ratioToRunc`, x.ratioToRunc);
    for (const [p, s] of Object.entries(x.phases)) put(`coldStart.${x.label}.phase.${p}Ms`, s.median);
  }
  put("largeModule.host.helloMs", r.hostFloor?.helloMs.median);
  put("largeModule.host.largeMs", r.hostFloor?.largeMs.median);
  put("memory.bareNode.pssMB", r.bareNode?.pssMb);
  for (const x of r.memory) {
    put(`memory.${x.label}.steadyRssMB`, x.steady?.rss);
    put(`memory.${x.label}.steadyPssMB`, x.steady?.pss);
    put(`memory.${x.label}.peakHwmMB`, x.peak?.hwm);
    put(`memory.${x.label}.shimPssMB`, x.parts?.shim);
    put(`memory.${x.label}.containerPssMB`, x.parts?.container);
    put(`memory.${x.label}.statsShimCpuMs`, x.stats?.shimCpuMs);
  }
  for (const x of r.density) {
    put(`density.${x.label}.n${x.n}.allRunningMs`, x.allRunningMs);
    put(`density.${x.label}.n${x.n}.rssPerTaskMB`, x.perTask?.rss);
    put(`density.${x.label}.n${x.n}.pssPerTaskMB`, x.perTask?.pss);
  }
  for (const x of r.compute) {
    put(`compute.${x.label}.computeMs`, x.computeMs?.median);
    put(`compute.${x.label}.ratioToNative`, x.ratioToNative);
  }
  for (const [name, v] of Object.entries(criVariants(r.cri?.data) ?? {})) put(`cri.${name}.totalMs`, v.medianMs?.total);
  httpMetrics(r.http, put);
  return m;
}
