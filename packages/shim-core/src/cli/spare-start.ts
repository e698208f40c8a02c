import { tracingEnabled } from "../telemetry/tracing.ts";
import { parseFlags } from "./flags.ts";
import { sparesEnabled, type SpareRequest } from "./spare-client.ts";
import { adoption, planStart, type StartPlan } from "./start.ts";

// A `start` that the executable's native entry (native/entry/fast_start.c) hands a spare before
// Node boots: the raw command line, environment, working directory and stdin of containerd's
// `start`, for the spare to work out here what `start` would have (start.ts, planStart).

/** The native entry's request. Strings carry bytes, one char each (it escapes every byte as \u00XX). */
export interface NativeStartRequest {
  start: { argv: string[]; env: string[]; cwd: string; stdin: string; ppid: number; priority: number };
}

export const isNativeStart = (r: unknown): r is NativeStartRequest =>
  typeof r === "object" && r !== null && "start" in r;

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const bytes = (s: string) => Buffer.from(s, "latin1");
/** As Node decodes its own argv and environment: UTF-8, a bad byte becoming U+FFFD. */
const text = (s: string) => bytes(s).toString("utf8");

/**
 * What the `start` asking would do, and the adoption request it would send, or why this spare
 * leaves it to Node's `start` (the native entry then boots Node, which does it all again).
 */
export async function planNativeStart(
  r: NativeStartRequest,
): Promise<{ plan: StartPlan; adopt: SpareRequest } | string> {
  const { argv, env, cwd, stdin, ppid, priority } = r.start ?? {};
  if (!isStrings(argv) || !isStrings(env) || typeof cwd !== "string" || typeof stdin !== "string")
    return "malformed start";
  if (!Number.isInteger(ppid) || !Number.isInteger(priority) || priority < -20 || priority > 19)
    return "malformed start";
  const flags = parseFlags(argv.slice(1).map(text));
  if (flags.action !== "start") return "not a start";
  const startEnv: NodeJS.ProcessEnv = {};
  for (const kv of env.map(text)) {
    const eq = kv.indexOf("=");
    if (eq > 0 && !(kv.slice(0, eq) in startEnv)) startEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  // A traced `start` runs from the bundle, with its span (boot.ts).
  if (tracingEnabled(startEnv)) return "traced";
  let plan: StartPlan;
  try {
    plan = await planStart(flags, startEnv, bytes(stdin), text(cwd), ppid);
  } catch (err) {
    return (err as Error).message;
  }
  if (!sparesEnabled(plan.env)) return "spares disabled";
  return { plan, adopt: adoption(plan, priority) };
}
