import { mkdirSync, mkdtempSync, openSync, readSync, closeSync, fstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";
import { buildTestImages, busyboxImageRef, fixturesImageRef } from "@wasm-shims/test-fixtures";
import { wallMs } from "./clock.ts";
import { writeLargeImage } from "./large-module.ts";
import { copyShims, findEngines, runtimeOf } from "./machine.ts";
import { PRECOMPILE_KEY_ENV } from "@wasm-shims/shim-core/src/wasm/precompile-key.ts";

export { busyboxImageRef, fixturesImageRef };

/** A way to run one container: `engine` is a shim's name, or "runc" for containerd's default runtime. */
export interface Case {
  label: string;
  engine: string;
  image: string;
  args: string[];
  /** Runs before each container of this case, e.g. to empty a cache. */
  before?: () => void;
}

export interface RunResult {
  id: string;
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock ms (epoch) when ctr was spawned, when the first stdout byte arrived, and when ctr exited. */
  t0: number;
  tOutput: number;
  tEnd: number;
}

export interface Bench {
  ctd: Containerd;
  tmp: string;
  /** Directory the jco shim keeps its transpile cache in (WASM_SHIM_JCO_CACHE). */
  jcoCache: string;
  /** The shims' state on the node (WASM_SHIM_PRECOMPILE_KEY's directory: its key, verdicts on modules). */
  state: string;
  /** Bytes of containerd.log already consumed by `newLog()`. */
  logOffset: number;
  seq: number;
}

export async function openBench(binDir: string): Promise<Bench> {
  // A short base: containerd's socket paths must fit in sun_path.
  const tmp = mkdtempSync("/tmp/bench-");
  const jcoCache = join(tmp, "jco-cache");
  mkdirSync(jcoCache);
  const state = join(tmp, "state");
  const images = await buildTestImages(tmp);
  const large = join(tmp, "wasm-large.tar");
  await writeLargeImage(large);
  const ctd = await Containerd.start({
    shimDir: copyShims(binDir, findEngines(binDir), join(tmp, "bin")),
    logLevel: "debug",
    env: { WASM_SHIM_JCO_CACHE: jcoCache, [PRECOMPILE_KEY_ENV]: join(state, "precompile.key") },
  });
  try {
    await ctd.importImage(images.fixtures.tarball);
    await ctd.importImage(images.busybox.tarball);
    await ctd.importImage(large);
  } catch (e) {
    await ctd.stop();
    throw e;
  }
  return { ctd, tmp, jcoCache, state, logOffset: 0, seq: 0 };
}

export async function closeBench(b: Bench): Promise<string[]> {
  const left = await b.ctd.leftovers();
  await b.ctd.stop();
  const after = await b.ctd.leftovers();
  rmSync(b.tmp, { recursive: true, force: true });
  return after.length > 0 ? after : left.filter((l) => !l.startsWith("task") && !l.startsWith("container"));
}

/** containerd.log written since the last call. */
export function newLog(b: Bench): string {
  const fd = openSync(join(b.ctd.dir, "containerd.log"), "r");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - b.logOffset));
    const n = readSync(fd, buf, 0, buf.length, b.logOffset);
    b.logOffset += n;
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

export function nextId(b: Bench, prefix: string): string {
  b.seq += 1;
  return `${prefix}-${b.seq}`;
}

export const runtimeFlag = (engine: string): string[] => (engine === "runc" ? [] : ["--runtime", runtimeOf(engine)]);

/** `ctr run --rm` in the foreground, timed by this process's clock. */
export function runOnce(b: Bench, c: Case, id: string, timeoutMs = 60_000): Promise<RunResult> {
  c.before?.();
  return new Promise((resolve, reject) => {
    const t0 = wallMs();
    let tOutput = Number.NaN;
    const child = b.ctd.ctrSpawn(["run", "--rm", ...runtimeFlag(c.engine), c.image, id, ...c.args]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => {
      if (out.length === 0) tOutput = wallMs();
      out.push(d);
    });
    child.stderr?.on("data", (d: Buffer) => err.push(d));
    child.stdin?.end();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const tEnd = wallMs();
      const result = {
        id,
        code: code ?? 1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        t0,
        tOutput,
        tEnd,
      };
      if (!timedOut) return resolve(result);
      // A hung task is a failed sample, not the end of the run; its container must not linger.
      void b.ctd
        .removeContainer(id, { timeoutMs: 30_000 })
        .then(() => resolve({ ...result, code: -1, stderr: `timed out after ${timeoutMs} ms; ${result.stderr}` }));
    });
  });
}

export interface TaskState {
  /** The task's init process on the host. */
  pid: number;
  /** RUNNING, STOPPED, … */
  status: string;
}

/** Task id → its state, from `ctr tasks ls`. */
export async function taskStates(b: Bench): Promise<Map<string, TaskState>> {
  // Generous: with fifty tasks starting at once, ctr can wait long for containerd.
  const r = await b.ctd.ctr(["tasks", "ls"], { timeoutMs: 120_000 });
  const states = new Map<string, TaskState>();
  for (const row of r.stdout.split("\n").slice(1)) {
    const [id, pid, status] = row.trim().split(/\s+/);
    if (id && pid && status) states.set(id, { pid: Number(pid), status });
  }
  return states;
}
