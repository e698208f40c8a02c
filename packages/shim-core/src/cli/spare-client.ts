import { connect } from "node:net";

/** Set to 0 (or off, false) in containerd's environment to have no spare daemons. */
export const SPARE_ENV = "WASM_SHIM_SPARE";
/**
 * containerd's pid, which `start` (containerd's child) hands down: a spare lives only as long as
 * the containerd that would have started its daemon.
 */
export const CONTAINERD_PID_ENV = "WASM_SHIM_CONTAINERD_PID";

/** What `start` hands a spare: the daemon's arguments as `start` would spawn it, and its environment. */
export interface SpareRequest {
  argv: string[];
  env: Record<string, string>;
  /** `start`'s nice value, containerd's: the spare waits at the lowest priority and returns to it. */
  priority: number;
}

export type SpareAnswer = { pid: number } | { refused: string };

/** A spare boots with the shim's code only, so `NODE_OPTIONS` meant for the daemon rules one out. */
export function sparesEnabled(env: NodeJS.ProcessEnv): boolean {
  const value = (env[SPARE_ENV] ?? "").toLowerCase();
  return value !== "0" && value !== "off" && value !== "false" && !env.NODE_OPTIONS;
}

/**
 * Asks the spare daemon waiting at `path` to serve this pod. It answers once it is listening on the
 * pod's socket; no answer (no spare, a spare that died, or the time limit) leaves `start` to spawn
 * a daemon as it always did, after looking again whether the pod's socket is live.
 */
export function adoptSpare(path: string, request: SpareRequest, timeoutMs = 3_000): Promise<SpareAnswer> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let reply = "";
    const done = (answer: SpareAnswer) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done({ refused: `no answer in ${timeoutMs} ms` }), timeoutMs);
    sock.once("error", (err) => done({ refused: (err as NodeJS.ErrnoException).code ?? err.message }));
    sock.once("end", () => done({ refused: reply.trim() || "closed without an answer" }));
    sock.once("connect", () => sock.write(`${JSON.stringify(request)}\n`));
    sock.setEncoding("utf8");
    sock.on("data", (chunk: string) => {
      reply += chunk;
      const line = reply.split("\n", 2);
      if (line.length < 2) return;
      const ok = /^ok (\d+)$/.exec(line[0]!);
      done(ok ? { pid: Number(ok[1]) } : { refused: line[0]! });
    });
  });
}
