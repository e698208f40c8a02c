import { closeSync, existsSync, openSync, rmSync, statSync } from "node:fs";
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

/** The right to start the spare, a file held from the spare's spawn until it listens (spare-spawn.ts). */
export const claimPath = (control: string) => `${control}.claim`;

/** How long a claim may stand before it is taken for a spare that died booting. */
const CLAIM_MS = 60_000;

/**
 * The right to start the spare, held from its spawn until it listens: when many daemons come up at
 * once (a node filling with pods), one spare boots, not one per daemon.
 */
export const claimSpare = (control: string): boolean => takeFile(claimPath(control), CLAIM_MS);

/** A spare boots in well under this; an older claim is one that died booting, or is starved. */
const BOOTING_MS = 2_000;

/**
 * Waits up to `budgetMs` for a spare that is booting (its claim stands, its control socket is not
 * there yet) to listen. Pods started one after another meet one: the previous pod's daemon starts
 * it as it exits. The spare is further along than a daemon spawned now would be, and that second
 * boot beside it would slow both (in tools/bench, jco's warm-cache case after the empty-cache one
 * booted a daemon in half its runs: 33 ms median, up to 91). One `start` waits, not every one of
 * a burst of pods: only one can have the spare.
 */
export async function spareReady(control: string, budgetMs = 100): Promise<void> {
  if (existsSync(control) || !youngerThan(claimPath(control), BOOTING_MS)) return;
  const waiter = `${control}.waiter`;
  // One left by a `start` killed while it waited expires.
  if (!takeFile(waiter, 2 * budgetMs)) return;
  try {
    const deadline = Date.now() + budgetMs;
    while (!existsSync(control) && youngerThan(claimPath(control), BOOTING_MS) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 3));
  } finally {
    rmSync(waiter, { force: true });
  }
}

function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

/**
 * Creates `path` if no one holds it: a right held by whoever made the file (the spare's claim, a
 * `start` waiting for it). One older than `staleMs` was left by a process that died holding it,
 * and is taken over.
 */
export function takeFile(path: string, staleMs: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(path, "wx"));
      return true;
    } catch {
      if (youngerThan(path, staleMs)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

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
