import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer as httpServer } from "node:http";
import { Session } from "node:inspector/promises";
import { createServer } from "node:net";
import { parseHttpConfig } from "../../packages/shim-jco/src/http/config.ts";
import { loadCoreModules } from "../../packages/shim-jco/src/http/instances.ts";
import { serveOnThisThread } from "../../packages/shim-jco/src/http/thread.ts";
import { GLUE_URL } from "../../packages/shim-jco/src/run.ts";
import { ENTRY_MODULE, transpileModule } from "../../packages/shim-jco/src/transpile.ts";
import { round } from "./stats.ts";

/**
 * Where one request's CPU time goes, measured: the shim's own serving code (the same files the
 * shim bundles) on one event loop of this process, under wrk, with V8's sampling profiler on; and
 * a plain Node server the same way. Self time is split into parts by the code it was spent in.
 */
export interface ProfileResult {
  label: string;
  reqPerSec: number;
  /** This process's CPU time per request (wrk runs in its own process), ms. */
  cpuMsPerRequest: number;
  /** ms of that per request, by part (PARTS), from the profile's busy samples. */
  parts: Record<string, number>;
}

export const PARTS = [
  "core instances (V8)",
  "memory images",
  "jco glue",
  "guest wasm",
  "GC",
  "socket writes",
  "Node http and streams",
  "shim server and WASI",
  "V8 and native, other",
] as const;

interface CallFrame {
  functionName: string;
  url: string;
}
interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/** The part a sample's own frame belongs to; undefined for idle. */
export function partOf({ functionName: fn, url }: CallFrame): (typeof PARTS)[number] | undefined {
  if (fn === "(idle)") return undefined;
  if (fn === "(garbage collector)") return "GC";
  if (url === GLUE_URL) return "jco glue"; // the transpiled component's JS
  if (url.startsWith("wasm:")) return "guest wasm";
  if (url.endsWith("/http/instances.ts")) return "memory images"; // copying the image into a recycled memory
  if (url.includes("/packages/shim-jco/src/") || url.includes("preview2-shim")) return "shim server and WASI";
  if (url.startsWith("node:")) return "Node http and streams";
  if (url === "" && fn === "Instance") return "core instances (V8)";
  if (url === "" && /^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/.test(fn)) return "socket writes";
  return "V8 and native, other";
}

function split(profile: Profile): Map<string, number> {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const part = partOf(frames.get(id)!);
    if (part) out.set(part, (out.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return out;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function wrkRequests(url: string, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t1", "-c16", `-d${seconds}s`, url], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve(Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN)));
  });
}

async function measure(label: string, url: string, seconds: number): Promise<ProfileResult> {
  await wrkRequests(url, Math.max(2, Math.round(seconds / 3)));
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    const c0 = process.cpuUsage();
    const requests = await wrkRequests(url, seconds);
    const c = process.cpuUsage(c0);
    const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
    const cpuMsPerRequest = (c.user + c.system) / 1000 / requests;
    const busy = split(profile);
    const total = [...busy.values()].reduce((a, b) => a + b, 0);
    const parts = Object.fromEntries(PARTS.map((p) => [p, round(((busy.get(p) ?? 0) / total) * cpuMsPerRequest, 3)]));
    return { label, reqPerSec: round(requests / seconds, 0), cpuMsPerRequest: round(cpuMsPerRequest, 3), parts };
  } finally {
    session.disconnect();
  }
}

/** Profiles plain Node, then each component served fresh (or with `reuse`), one after another. */
export async function profileServing(
  components: { label: string; bytes: Uint8Array; reuse?: boolean }[],
  seconds: number,
): Promise<ProfileResult[]> {
  const out: ProfileResult[] = [];
  const plain = httpServer((_, res) => res.end("hello from js\n")).listen(await freePort(), "127.0.0.1");
  await once(plain, "listening");
  try {
    out.push(
      await measure("plain Node http", `http://127.0.0.1:${(plain.address() as { port: number }).port}/`, seconds),
    );
  } finally {
    plain.close();
  }
  for (const { label, bytes, reuse } of components) {
    const t = await transpileModule(bytes, label);
    const port = await freePort();
    const env = { WASI_HTTP_LISTEN: `127.0.0.1:${port}`, ...(reuse ? { WASI_HTTP_INSTANCE_REUSE: "1" } : {}) };
    const ctx = { path: "/x.wasm", args: ["x.wasm"], env, cwd: "/", stdin: 0, stdout: 1, stderr: 2, data: {} };
    const config = parseHttpConfig(env);
    const server = await serveOnThisThread({
      ctx,
      entry: t.files[ENTRY_MODULE]!,
      config,
      core: await loadCoreModules(t.files),
      port,
      shared: false,
    });
    try {
      out.push(await measure(label, `http://127.0.0.1:${port}/`, seconds));
    } finally {
      await server.stop(Date.now() + 2000);
    }
  }
  return out;
}
