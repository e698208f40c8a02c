import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { moduleTunables } from "@wasm-shims/shim-core/src/wasm/runner-spec.ts";
import { fixturePath, yosysModule } from "@wasm-shims/test-fixtures";
import { roundSummary, summarize, type Summary } from "./stats.ts";

/** The same two modules on the host: what the large one costs by itself, with no shim around it. */
export interface HostFloor {
  rounds: number;
  helloMs: Summary;
  largeMs: Summary;
  error?: string;
}

const script = join(import.meta.dirname, "host-run.mjs");

/** The runner's environment for `module`: glibc's huge pages for a large one, as runner-spec.ts decides. */
function runnerLikeEnv(module: string): NodeJS.ProcessEnv {
  const own = moduleTunables(statSync(module).size).map((v) => v.split(/=(.*)/));
  return { ...process.env, ...Object.fromEntries(own) };
}

function timeRun(module: string, args: string[]): number {
  const env = runnerLikeEnv(module);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--no-warnings", "--wasm-lazy-validation", script, module, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 60_000,
    env,
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`host run of ${module} exited ${r.status}: ${r.stderr?.toString().trim()}`);
  return ms;
}

/**
 * hello.wasm and `yosys -V`, each in a fresh process of the Node the shims embed, interleaved, with
 * the glibc tunables the runner would have for each (huge pages for the large one).
 * The difference of the medians is the large module's own start-up (reading, compiling lazily,
 * instantiating and running its static constructors), which no shim can take away.
 */
export function hostFloor(rounds: number): HostFloor {
  const hello: number[] = [];
  const large: number[] = [];
  try {
    for (let r = -1; r < rounds; r++) {
      const h = timeRun(fixturePath("hello"), []);
      const l = timeRun(yosysModule, ["-V"]);
      if (r < 0) continue;
      hello.push(h);
      large.push(l);
    }
  } catch (err) {
    return { rounds, helloMs: summarize([]), largeMs: summarize([]), error: (err as Error).message.slice(0, 300) };
  }
  return { rounds, helloMs: roundSummary(summarize(hello)), largeMs: roundSummary(summarize(large)) };
}
