import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { httpHandlerWat } from "../../packages/shim-jco/test/components.ts";
import { programPath, writeOciImage } from "@wasm-shims/test-fixtures";
import { nextId, taskStates, type Bench } from "./harness.ts";
import { runtimeOf } from "./machine.ts";
import { round, summarize } from "./stats.ts";
import { parseWrk, wrk, type Wrk } from "./wrk.ts";

export { ensureWrk } from "./wrk.ts";

/**
 * wasi:http serving under load: wrk against components served by containerd-shim-jco-v1 (each in
 * its own `ctr run -d --net-host` container) and against a plain Node `http` server answering the
 * same body, case after case in rotated order, so that every ratio compares figures of one run.
 */
const image = "localhost/bench-http:bench";
export const BODY = "hello from js\n";

export interface HttpCase {
  label: string;
  /** "node": the plain Node server; otherwise the jco shim (or the one given as "before"). */
  kind: "node" | "jco" | "before";
  wasm?: string;
  env?: string[];
}

export interface HttpCaseResult {
  label: string;
  rounds: number;
  reqPerSec?: number;
  /** Medians over rounds of wrk's latency percentiles, ms. */
  latencyMs?: { p50: number; p75: number; p90: number; p99: number };
  /** Median of each round's req/s over plain Node's in the same round. */
  ratioToNode?: number;
  /** CPU time of the container's runner (all its threads) per request, ms. */
  cpuMsPerRequest?: number;
  /** Event loops the server said it runs. */
  threads?: number;
  errors?: string;
}

export interface HttpResult {
  wrk: string;
  connections: number;
  seconds: number;
  cases: HttpCaseResult[];
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function buildHttpImage(b: Bench): Promise<void> {
  const { parse } = await import(
    "../../packages/shim-jco/node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js"
  );
  for (const name of ["http-hello-js", "http-raw-hello-js"]) {
    if (!existsSync(programPath(name)))
      throw new Error(`${programPath(name)} is missing: run tools/build.sh (it builds the componentize-js programs)`);
  }
  await writeOciImage(join(b.tmp, "http.tar"), {
    ref: image,
    files: [
      { path: "/tiny.wasm", content: await parse(httpHandlerWat(BODY)), mode: 0o755 },
      { path: "/hello-js.wasm", source: programPath("http-hello-js"), mode: 0o755 },
      { path: "/raw-hello-js.wasm", source: programPath("http-raw-hello-js"), mode: 0o755 },
    ],
    entrypoint: ["/tiny.wasm"],
    os: "wasip1",
    architecture: "wasm",
  });
  await b.ctd.importImage(join(b.tmp, "http.tar"));
}

export function httpCases(before: boolean): HttpCase[] {
  return [
    { label: "plain Node http", kind: "node" },
    { label: "tiny (WAT), fresh", kind: "jco", wasm: "/tiny.wasm" },
    { label: "tiny (WAT), reuse", kind: "jco", wasm: "/tiny.wasm", env: ["WASI_HTTP_INSTANCE_REUSE=1"] },
    { label: "JS fetch event, fresh", kind: "jco", wasm: "/hello-js.wasm" },
    { label: "JS incomingHandler, fresh", kind: "jco", wasm: "/raw-hello-js.wasm" },
    {
      label: "JS incomingHandler, reuse",
      kind: "jco",
      wasm: "/raw-hello-js.wasm",
      env: ["WASI_HTTP_INSTANCE_REUSE=1"],
    },
    ...(before
      ? [{ label: "JS fetch event, before (old server)", kind: "before" as const, wasm: "/hello-js.wasm" }]
      : []),
  ];
}

/** utime + stime of a process (all its threads), ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Server {
  url: string;
  pid: number;
  threads?: number;
  stop(): Promise<void>;
}

async function waitAnswering(url: string, alive: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if ((await res.text()) === BODY) return;
    } catch {
      // not yet
    }
    if (!alive() || Date.now() > deadline) throw new Error(`${url} did not answer`);
    await sleep(200);
  }
}

async function startNode(node: string): Promise<Server> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    node,
    ["-e", `require("node:http").createServer((q, s) => s.end(${JSON.stringify(BODY)})).listen(${port}, "127.0.0.1")`],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitAnswering(url, () => child.exitCode === null, 30_000);
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    },
  };
}

async function startShim(b: Bench, c: HttpCase): Promise<Server> {
  const port = await freePort();
  const id = nextId(b, "http");
  const runtime = c.kind === "before" ? "io.containerd.jcobefore.v1" : runtimeOf("jco");
  const env = [`WASI_HTTP_LISTEN=127.0.0.1:${port}`, ...(c.env ?? [])].flatMap((e) => ["--env", e]);
  const log = join(b.tmp, `${id}.log`);
  const r = await b.ctd.ctr(
    ["run", "-d", "--net-host", "--log-uri", `file://${log}`, ...env, "--runtime", runtime, image, id, c.wasm!],
    { timeoutMs: 300_000 },
  );
  if (r.code !== 0) throw new Error(`ctr run ${c.wasm}: ${r.stderr.trim()}`);
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitAnswering(url, () => true, 300_000);
    const pid = (await taskStates(b)).get(id)?.pid;
    if (!pid) throw new Error(`no task ${id}`);
    // The server logs this line once every thread listens (a busy machine can take seconds more).
    let text = "";
    for (
      const deadline = Date.now() + 120_000;
      !/serving HTTP on/.test(text) && Date.now() < deadline;
      await sleep(200)
    )
      text = existsSync(log) ? readFileSync(log, "utf8") : "";
    await sleep(1000); // each thread's pool filled
    const threads = Number(/\((\d+) threads?, /.exec(text)?.[1]);
    return {
      url,
      pid,
      ...(Number.isFinite(threads) ? { threads } : {}),
      stop: () => b.ctd.removeContainer(id, { timeoutMs: 60_000 }),
    };
  } catch (e) {
    await b.ctd.removeContainer(id, { timeoutMs: 60_000 });
    throw e;
  }
}

export async function httpBench(
  b: Bench,
  cases: HttpCase[],
  opts: { rounds: number; seconds: number; connections: number; node: string },
  log: (m: string) => void,
): Promise<HttpResult> {
  const samples = new Map(
    cases.map((c) => [
      c.label,
      {
        wrk: [] as Wrk[],
        cpu: [] as number[],
        ratio: [] as number[],
        threads: undefined as number | undefined,
        error: "",
      },
    ]),
  );
  for (let round = 0; round < opts.rounds; round++) {
    let nodeRate = Number.NaN;
    // Plain Node first in every round (the ratios' base); the others rotate.
    const rest = cases.slice(1);
    const order = [cases[0]!, ...rest.map((_, i) => rest[(i + round) % rest.length]!)];
    for (const c of order) {
      const s = samples.get(c.label)!;
      let server: Server | undefined;
      try {
        server = c.kind === "node" ? await startNode(opts.node) : await startShim(b, c);
        s.threads = server.threads;
        await wrk(server.url, opts.connections, Math.max(2, Math.round(opts.seconds / 3))); // warm-up, not recorded
        const before = cpuMs(server.pid);
        const w = parseWrk(await wrk(server.url, opts.connections, opts.seconds));
        const spent = cpuMs(server.pid) - before;
        if (!(w.requests > 0)) throw new Error("wrk completed no request");
        if (w.bad > 0) s.error = `${w.bad} errors or non-2xx responses in round ${round + 1}`;
        s.wrk.push(w);
        s.cpu.push(spent / w.requests);
        if (c.kind === "node") nodeRate = w.reqPerSec;
        else s.ratio.push(w.reqPerSec / nodeRate);
        log(
          `  ${c.label}: ${w.reqPerSec.toFixed(0)} req/s, p50 ${w.latency.p50.toFixed(2)} ms, p99 ${w.latency.p99.toFixed(2)} ms`,
        );
      } catch (e) {
        s.error = (e as Error).message.slice(0, 300);
        log(`  ${c.label}: failed (${s.error})`);
      } finally {
        await server?.stop();
      }
    }
  }
  const med = (xs: number[]) => summarize(xs).median;
  return {
    wrk: `wrk -t2 -c${opts.connections} -d${opts.seconds}s --latency`,
    connections: opts.connections,
    seconds: opts.seconds,
    cases: cases.map((c) => {
      const s = samples.get(c.label)!;
      const res: HttpCaseResult = { label: c.label, rounds: s.wrk.length };
      if (s.error) res.errors = s.error;
      if (s.wrk.length === 0) return res;
      res.reqPerSec = round(med(s.wrk.map((w) => w.reqPerSec)), 0);
      const p = (k: keyof Wrk["latency"]) => round(med(s.wrk.map((w) => w.latency[k])), 2);
      res.latencyMs = { p50: p("p50"), p75: p("p75"), p90: p("p90"), p99: p("p99") };
      if (s.ratio.length > 0) res.ratioToNode = round(med(s.ratio), 3);
      res.cpuMsPerRequest = round(med(s.cpu), 3);
      if (s.threads !== undefined) res.threads = s.threads;
      return res;
    }),
  };
}
