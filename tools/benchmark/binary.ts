import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { wallMs } from "./clock.ts";
import { shimBinary } from "./machine.ts";
import { roundSummary, summarize, type Summary } from "./stats.ts";

export interface BinaryResult {
  engine: string;
  sizeMB: number;
  /** The JavaScript bundle inside the executable, which the guest worker evaluates again from source. */
  bundleKB?: number;
  /** `<shim> -v`: process start to exit, i.e. the runtime's bare start-up. */
  versionMs: Summary;
  tool: "hyperfine" | "own clock";
}

function hasHyperfine(): boolean {
  return spawnSync("hyperfine", ["--version"], { stdio: "ignore" }).status === 0;
}

function withHyperfine(file: string, runs: number): number[] {
  const dir = mkdtempSync("/tmp/bench-hf-");
  try {
    const out = join(dir, "hf.json");
    // -N: no intermediate shell, whose own start-up would be counted.
    execFileSync(
      "hyperfine",
      ["-N", "--style", "none", "--warmup", "3", "--runs", String(runs), "--export-json", out, `${file} -v`],
      { stdio: "ignore" },
    );
    const data = JSON.parse(readFileSync(out, "utf8")) as { results: { times: number[] }[] };
    return (data.results[0]?.times ?? []).map((s) => s * 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withOwnClock(file: string, runs: number): number[] {
  const times: number[] = [];
  for (let i = -3; i < runs; i++) {
    const t = wallMs();
    spawnSync(file, ["-v"], { stdio: "ignore" });
    if (i >= 0) times.push(wallMs() - t);
  }
  return times;
}

export function binaries(binDir: string, engines: readonly string[], runs: number): BinaryResult[] {
  const hf = hasHyperfine();
  return engines.map((engine) => {
    const file = shimBinary(binDir, engine);
    const times = hf ? withHyperfine(file, runs) : withOwnClock(file, runs);
    const res: BinaryResult = {
      engine,
      sizeMB: Math.round(statSync(file).size / 1e5) / 10,
      versionMs: roundSummary(summarize(times)),
      tool: hf ? "hyperfine" : "own clock",
    };
    const bundle = join(binDir, "..", "..", "packages", `shim-${engine}`, "dist", `containerd-shim-${engine}-v1.cjs`);
    if (existsSync(bundle)) res.bundleKB = Math.round(statSync(bundle).size / 1e3);
    return res;
  });
}
