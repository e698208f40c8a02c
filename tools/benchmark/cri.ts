import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface CriResult {
  script: string;
  code: number;
  /** What the script wrote as JSON (its file, or its stdout when that parses), else undefined. */
  data?: unknown;
  /** Its output's tail, when it gave no JSON. */
  text?: string;
  error?: string;
}

export const criScript = join(import.meta.dirname, "cri-pod-start.ts");

function run(args: string[], timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [criScript, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out, err });
    });
  });
}

/** Runs the CRI pod-start script, which starts its own containerd with the CRI plugin. */
export async function criPodStart(quick: boolean, engines: readonly string[]): Promise<CriResult> {
  const dir = mkdtempSync("/tmp/bench-cri-");
  const file = join(dir, "cri.json");
  const args = ["--json", file, ...(quick ? ["--quick"] : []), ...engines.flatMap((e) => ["--engine", e])];
  // Its own default (10 runs of every variant) alone would take most of the 15 minutes budget.
  if (!quick) args.push("--runs", "5");
  try {
    const r = await run(args, quick ? 240_000 : 600_000);
    const res: CriResult = { script: "tools/benchmark/cri-pod-start.ts", code: r.code };
    const parse = (t: string): unknown => {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return undefined;
      }
    };
    const data = existsSync(file) ? parse(readFileSync(file, "utf8")) : parse(r.out);
    if (data !== undefined) res.data = data;
    else res.text = r.out.split("\n").slice(-40).join("\n");
    if (r.code !== 0) res.error = r.err.split("\n").slice(-10).join("\n");
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
