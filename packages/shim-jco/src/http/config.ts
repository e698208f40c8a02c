/**
 * How a wasi:http component is served, from the container's env (the guest sees the same env).
 * Every name is documented in packages/shim-jco/README.md ("Serving HTTP").
 */
export const LISTEN_ENV = "WASI_HTTP_LISTEN";
/** What runwasi's wasmtime shim and Spin read; honoured when LISTEN_ENV is not set. */
export const LISTEN_ALIASES = ["WASMTIME_HTTP_PROXY_SOCKET_ADDR", "SPIN_HTTP_LISTEN_ADDR"] as const;
export const DEFAULT_LISTEN = "0.0.0.0:8080";
export const REUSE_ENV = "WASI_HTTP_INSTANCE_REUSE";
export const WORKERS_ENV = "WASI_HTTP_WORKERS";
export const POOL_ENV = "WASI_HTTP_POOL";
export const CONCURRENCY_ENV = "WASI_HTTP_MAX_CONCURRENCY";
export const DRAIN_ENV = "WASI_HTTP_DRAIN_TIMEOUT";

export interface HttpConfig {
  host: string;
  port: number;
  /** Keep instances across requests (opt-in) instead of a fresh instance per request. */
  reuse: boolean;
  /** Event loops (worker threads) on the port; undefined: one per CPU the container may use. */
  workers: number | undefined;
  /** Fresh instances each worker keeps ready ahead of requests. */
  pool: number;
  /** Requests one worker runs at once; more wait for a free slot. */
  concurrency: number;
  /** How long in-flight requests may take to finish after SIGTERM, in ms. */
  drainMs: number;
}

export function parseListen(value: string, name = LISTEN_ENV): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new Error(`${name}=${value}: expected HOST:PORT or PORT`);
  return { host: m[1] || "0.0.0.0", port };
}

function parseBool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new Error(`${name}=${value}: expected true or false`);
}

function parseCount(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}=${value}: expected a whole number from ${min} to ${max}`);
  return n;
}

/** Seconds (a trailing "s" allowed) as milliseconds. */
function parseSeconds(name: string, value: string | undefined, fallbackSeconds: number): number {
  if (value === undefined || value.trim() === "") return fallbackSeconds * 1000;
  const s = Number(value.trim().replace(/s$/, ""));
  if (!Number.isFinite(s) || s < 0 || s > 3600) throw new Error(`${name}=${value}: expected seconds from 0 to 3600`);
  return Math.round(s * 1000);
}

/** Throws, naming the variable, on a value that cannot be meant. */
export function parseHttpConfig(env: Record<string, string | undefined>): HttpConfig {
  const named = [LISTEN_ENV, ...LISTEN_ALIASES].find((n) => env[n] !== undefined && env[n] !== "");
  const { host, port } = named ? parseListen(env[named]!, named) : parseListen(DEFAULT_LISTEN);
  const workers = env[WORKERS_ENV]?.trim() ? parseCount(WORKERS_ENV, env[WORKERS_ENV], 1, 1, 256) : undefined;
  return {
    host,
    port,
    reuse: parseBool(REUSE_ENV, env[REUSE_ENV]),
    workers,
    pool: parseCount(POOL_ENV, env[POOL_ENV], 2, 0, 64),
    concurrency: parseCount(CONCURRENCY_ENV, env[CONCURRENCY_ENV], 16, 1, 10_000),
    // Below Kubernetes' default terminationGracePeriodSeconds (30), so a pod exits before SIGKILL.
    drainMs: parseSeconds(DRAIN_ENV, env[DRAIN_ENV], 25),
  };
}
