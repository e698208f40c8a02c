import type { HttpResult } from "./http.ts";
import type { InstantiateResult } from "./http-instantiate.ts";
import { PARTS, type ProfileResult } from "./http-profile.ts";
import { f, table } from "./markdown.ts";

/** The HTTP part of a run: measured with the rest, or alone (`tools/bench --http-only`). */
export interface HttpSection {
  date: string;
  command: string;
  serve?: HttpResult;
  instantiate?: InstantiateResult[];
  profile?: ProfileResult[];
  error?: string;
}

/** The issue's targets, as ratios to plain Node in the same run (its "today": 161 req/s against 79,000). */
const TODAY_RATIO = 161 / 79_000;
const targets: Record<string, { ratio: number; what: string }> = {
  "JS fetch event, fresh": { ratio: 10 * TODAY_RATIO, what: "10× today (0.020× Node)" },
  "JS incomingHandler, reuse": { ratio: 0.1, what: "0.1× Node" },
  "tiny (WAT), fresh": { ratio: 0.25, what: "0.25× Node" },
};

export function httpMetrics(h: HttpSection | undefined, put: (k: string, v: number | undefined) => void): void {
  for (const c of h?.serve?.cases ?? []) {
    put(`http.${c.label}.reqPerSec`, c.reqPerSec);
    put(`http.${c.label}.ratioToNode`, c.ratioToNode);
    put(`http.${c.label}.p99Ms`, c.latencyMs?.p99);
    put(`http.${c.label}.cpuMsPerRequest`, c.cpuMsPerRequest);
  }
  for (const i of h?.instantiate ?? []) put(`http.instantiate.${i.label}.ms`, i.imagedMs);
}

export function httpSection(h: HttpSection | undefined): string {
  if (!h) return "Not measured in this run (`tools/bench --http-only` measures it alone).";
  if (!h.serve) return `The HTTP benchmark failed: ${h.error ?? "no result"}`;
  const s = h.serve;
  const rows = s.cases.map((c) => {
    const target = targets[c.label];
    const met =
      target && c.ratioToNode !== undefined
        ? `${target.what}: ${c.ratioToNode >= target.ratio ? "**met**" : "not met"}`
        : "";
    return [
      c.label,
      String(c.rounds),
      f(c.reqPerSec),
      f(c.latencyMs?.p50, 2),
      f(c.latencyMs?.p90, 2),
      f(c.latencyMs?.p99, 2),
      c.label === "plain Node http" ? "1" : f(c.ratioToNode, 3),
      f(c.cpuMsPerRequest, 2),
      c.label === "plain Node http" ? "1" : c.threads === undefined ? "–" : String(c.threads),
      [met, c.errors ?? ""].filter(Boolean).join("; "),
    ];
  });
  const inst = (h.instantiate ?? []).map((i) => [
    i.label,
    f(i.coreMB, 1),
    f(i.memoryMB, 1),
    f(i.plainMs, 2),
    f(i.imagedMs, 2),
  ]);
  return [
    `Measured ${h.date} by \`${h.command}\`: \`${s.wrk}\` (after an unrecorded warm-up of a third of that) against each server in turn, rounds rotated, on the machine above. Every component is served by \`containerd-shim-jco-v1\` in its own \`ctr run -d --net-host\` container with default settings (one event loop per CPU, a fresh instance per request), "reuse" adds \`WASI_HTTP_INSTANCE_REUSE=1\`; plain Node is one \`http.createServer\` process on the host answering the same 14-byte body. wrk runs on the same cores, so every figure includes its share of them; × Node is the median over rounds of each round's ratio.`,
    "",
    table(
      [
        "server",
        "rounds",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "× Node",
        "CPU ms / request",
        "event loops",
        "target / note",
      ],
      rows,
    ),
    "",
    "What one instance costs to make (CPU ms, median, in the benchmark's own process with the shim's code): as served, each core module's memory is an image copied into a memory recycled from a finished instance; without that, V8 maps new memory and applies the module's data segments for every instance.",
    "",
    table(
      ["component", "largest core module MB", "its memory MB", "instance without images ms", "instance as served ms"],
      inst,
    ),
    ...(h.profile?.length ? ["", profileText(h.profile)] : []),
  ].join("\n");
}

function profileText(profile: ProfileResult[]): string {
  const rows = profile.map((p) => [
    p.label,
    f(p.reqPerSec),
    f(p.cpuMsPerRequest, 3),
    ...PARTS.map((part) => f(p.parts[part], 3)),
  ]);
  return [
    "Where a request's CPU time goes (ms per request), profiled: the shim's serving code (the files it bundles) on one event loop of the benchmark's process, under `wrk -t1 -c16`, with V8's sampling profiler on, and a plain Node server the same way. Each sample's own frame is put in one part: V8's `WebAssembly.Instance` (core instances), the copy of memory images into recycled memories (instances.ts), the transpiled component's JavaScript (jco glue: lifting, lowering, resource tables, its JSPI task bookkeeping), the component's own wasm, garbage collection, the socket writes, Node's JavaScript (http, streams, timers), the shim's server and preview2-shim, and the rest of V8 and native code (instantiation and call wrappers, stack switching for JSPI, libuv).",
    "",
    table(["server", "req/s", "CPU ms / request", ...PARTS], rows),
  ].join("\n");
}

/** Where the time of one request goes, from the profile (or, without one, the figures above). */
export function httpWhere(h: HttpSection | undefined): string {
  const profile = h?.profile ?? [];
  const node = profile.find((p) => p.label === "plain Node http");
  const lines = profile
    .filter((p) => p !== node)
    .map((p) => {
      const parts = [...PARTS]
        .sort((a, b) => (p.parts[b] ?? 0) - (p.parts[a] ?? 0))
        .filter((part) => (p.parts[part] ?? 0) >= 0.01);
      return `- **${p.label}**: ${f(p.cpuMsPerRequest, 2)} CPU ms per request on one event loop, ${f(p.cpuMsPerRequest / (node?.cpuMsPerRequest ?? Number.NaN))}× plain Node's ${f(node?.cpuMsPerRequest, 3)} ms: ${parts.map((part) => `${part} ${f(p.parts[part], 2)}`).join(", ")}.`;
    });
  const js = profile.find((p) => p.label === "JS fetch event, fresh");
  const made = js ? (js.parts["core instances (V8)"] ?? 0) + (js.parts["memory images"] ?? 0) : undefined;
  if (made) {
    lines.push(
      `- A fresh instance of the JS component costs ${f(made, 2)} CPU ms in V8's instantiation and the memory-image copy alone, before its glue, its GC and the request: at most ${f(1000 / made)} fresh requests per second per CPU, whatever the server does. Outside V8's instantiation, what is left to cut is per-instance work in jco's glue and the garbage it leaves; the instantiation and the memory copy come with every fresh instance, and only reuse (an opt-in) avoids them.`,
    );
  }
  return lines.join("\n");
}
