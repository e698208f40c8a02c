// wrk, the HTTP load generator the wasi:http benchmark drives (http.ts): installing it, running it, reading its report.
import { execFileSync, spawn, spawnSync } from "node:child_process";

/** wrk from Debian, installed when missing. */
export function ensureWrk(log: (m: string) => void): void {
  if (spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined) return;
  log("  installing wrk");
  execFileSync("apt-get", ["install", "-y", "wrk"], {
    stdio: "ignore",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

export interface Wrk {
  requests: number;
  reqPerSec: number;
  latency: { p50: number; p75: number; p90: number; p99: number };
  bad: number;
}

const toMs = (v: string, unit: string) =>
  Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!;

export function parseWrk(out: string): Wrk {
  const pct = (p: number) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    requests,
    reqPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    latency: { p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99) },
    bad: non2xx + (errors ? Number(errors[1]) + Number(errors[2]) + Number(errors[3]) + Number(errors[4]) : 0),
  };
}

export function wrk(url: string, connections: number, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t2", `-c${connections}`, `-d${seconds}s`, "--latency", url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve(out));
  });
}
