import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeOciImage } from "@wasm-shims/test-fixtures";
import { nextId, runOnce, type Bench, type Case } from "./harness.ts";
import { round, roundSummary, summarize, type Summary } from "./stats.ts";

const source = join(import.meta.dirname, "compute.c");
const wasmImage = "localhost/bench-compute-wasm:bench";
const nativeImage = "localhost/bench-compute-native:bench";
const wasiPackages = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

export interface ComputeResult {
  label: string;
  engine: string;
  rounds: number;
  runs: number;
  error?: string;
  /** Time the guest measured around its hashing loop. */
  computeMs?: Summary;
  /** `ctr run --rm` from spawn to exit. */
  wallMs?: Summary;
  /** Median compute time over native's. */
  ratioToNative?: number;
  wallRatioToNative?: number;
}

/** Debian's clang for wasm32-wasi, installed when missing. */
function ensureClang(log: (m: string) => void): void {
  const ok =
    spawnSync("clang", ["--version"], { stdio: "ignore" }).status === 0 && existsSync("/usr/lib/wasm32-wasi/libc.a");
  if (ok) return;
  log(`  installing ${wasiPackages.join(" ")}`);
  execFileSync("apt-get", ["install", "-y", ...wasiPackages], {
    stdio: "ignore",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

/** Both builds go into the run's temporary directory: the binaries are never committed. */
export async function buildComputeImages(b: Bench, log: (m: string) => void): Promise<void> {
  ensureClang(log);
  const wasm = join(b.tmp, "compute.wasm");
  const native = join(b.tmp, "compute");
  execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-s", "-o", wasm, source]);
  execFileSync("clang", ["-O2", "-static", "-s", "-o", native, source]);
  await writeOciImage(join(b.tmp, "compute-wasm.tar"), {
    ref: wasmImage,
    files: [{ path: "/compute.wasm", source: wasm, mode: 0o755 }],
    entrypoint: ["/compute.wasm"],
    os: "wasip1",
    architecture: "wasm",
  });
  await writeOciImage(join(b.tmp, "compute-native.tar"), {
    ref: nativeImage,
    files: [{ path: "/compute", source: native, mode: 0o755 }],
    entrypoint: ["/compute"],
  });
  await b.ctd.importImage(join(b.tmp, "compute-wasm.tar"));
  await b.ctd.importImage(join(b.tmp, "compute-native.tar"));
}

export async function compute(
  b: Bench,
  engines: readonly string[],
  rounds: number,
  runs: number,
  log: (m: string) => void,
): Promise<ComputeResult[]> {
  const arg = String(rounds);
  const cases: Case[] = [
    { label: "native", engine: "runc", image: nativeImage, args: ["/compute", arg] },
    ...engines.map((e) => ({ label: e, engine: e, image: wasmImage, args: ["/compute.wasm", arg] })),
  ];
  const samples = new Map(
    cases.map((c) => [c.label, { compute: [] as number[], wall: [] as number[], digest: "", error: "" }]),
  );
  for (let r = 0; r < runs; r++) {
    for (const c of cases.map((_, i) => cases[(i + r) % cases.length]!)) {
      const s = samples.get(c.label)!;
      if (s.error && s.compute.length === 0) continue;
      const run = await runOnce(b, c, nextId(b, "cpu"), 180_000);
      const m = /^([0-9a-f]{64}) compute_ns=(\d+)/m.exec(run.stdout);
      if (run.code !== 0 || !m) {
        s.error = `exit ${run.code}: ${(run.stderr || run.stdout).trim().slice(0, 300)}`;
        log(`  ${c.label}: failed (${s.error})`);
        continue;
      }
      s.digest = m[1]!;
      s.compute.push(Number(m[2]) / 1e6);
      s.wall.push(run.tEnd - run.t0);
    }
  }
  const native = samples.get("native")!;
  const nCompute = summarize(native.compute).median;
  const nWall = summarize(native.wall).median;
  return cases.map((c) => {
    const s = samples.get(c.label)!;
    const res: ComputeResult = { label: c.label, engine: c.engine, rounds, runs: s.compute.length };
    if (s.compute.length === 0) {
      res.error = s.error || "no run succeeded";
      return res;
    }
    // Same source, same input: a different digest means the engine computed something else.
    if (native.digest && s.digest !== native.digest)
      res.error = `digest ${s.digest} differs from native ${native.digest}`;
    res.computeMs = roundSummary(summarize(s.compute));
    res.wallMs = roundSummary(summarize(s.wall));
    if (c.label !== "native") {
      res.ratioToNative = round(res.computeMs.median / nCompute, 2);
      res.wallRatioToNative = round(res.wallMs.median / nWall, 2);
    }
    return res;
  });
}
