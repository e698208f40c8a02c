import type { LogLine } from "./logparse.ts";
import type { RunResult } from "./harness.ts";

/** Consecutive phases of one `ctr run --rm`, in ms; a phase the log could not place is absent. */
export type Phases = Partial<Record<PhaseName, number>>;

export const phaseNames = [
  "client",
  "toShim",
  "shimStart",
  "daemonUp",
  "create",
  "start",
  "firstOutput",
  "exit",
  "delete",
  "cleanup",
] as const;
export type PhaseName = (typeof phaseNames)[number];

export const phaseLabels: Record<PhaseName, string> = {
  client: "ctr → snapshot prepared",
  toShim: "containerd → shim exec",
  shimStart: "shim `start` (exec → address)",
  daemonUp: "daemon up (spawn → serving; 0 for an adopted spare)",
  create: "Create",
  start: "Start (runc run → pid)",
  firstOutput: "guest first output",
  exit: "guest exit",
  delete: "Delete + Shutdown (→ shim disconnected)",
  cleanup: "cleanup (→ ctr exit)",
};

const first = (lines: readonly LogLine[], pred: (l: LogLine) => boolean): number | undefined => lines.find(pred)?.t;

/**
 * Boundaries come from the shim's own lines where it writes them (`spawned daemon` or `adopted a
 * spare daemon`, `serving`, `created`, `started`, `exited`), from containerd's for runc's shim
 * (`starting signal loop`, the forwarded /tasks/* events), and from this process's clock for ctr's
 * start, first output and exit.
 * Runs are sequential, so a line without an id belongs to the run whose window holds it.
 */
export function phasesOf(run: RunResult, lines: readonly LogLine[]): Phases {
  const id = run.id;
  const win = lines.filter((l) => l.t >= run.t0 - 5 && l.t <= run.tEnd + 5);
  const prepare = first(win, (l) => l.msg === "prepare snapshot" && l.fields.key === id);
  // A spare daemon that `start` adopted was serving before `start` wrote its line: daemonUp is 0.
  const spawnedLine = win.find(
    (l) => (l.msg === "spawned daemon" || l.msg === "adopted a spare daemon") && l.fields.id === id,
  );
  const created = win.find((l) => l.msg === "created" && l.fields.id === id);
  const ours = created !== undefined;
  const serving = ours ? first(win, (l) => l.msg === "serving" && l.fields.pid === created.fields.pid) : undefined;
  const signalLoop = first(win, (l) => l.msg === "starting signal loop" && (l.fields.path ?? "").endsWith(`/${id}`));
  const event = (topic: string) => first(win, (l) => l.msg === "event forwarded" && l.fields.topic === topic);
  const up = ours ? serving : signalLoop;
  const tCreated = ours ? created.t : event("/tasks/create");
  const tStarted = ours
    ? first(win, (l) => l.msg === "started" && l.fields.id === id && !l.fields.exec)
    : event("/tasks/start");
  const tExited = ours
    ? first(win, (l) => l.msg === "exited" && l.fields.id === id && !l.fields.exec)
    : event("/tasks/exit");
  const p: Phases = {};
  // Boundaries from forwarded events lag (runc's /tasks/start can arrive after the output): each
  // boundary is at least the one before, so a lag lands in the earlier phase and none is negative.
  let last = run.t0;
  const span = (name: PhaseName, a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return;
    const begin = Math.max(a, last);
    last = Math.max(b, begin);
    p[name] = last - begin;
  };
  span("client", run.t0, prepare);
  if (spawnedLine && spawnedLine.fields.ms === undefined) {
    // A spare adopted for the executable's native entry, which gives no time of its own exec:
    // containerd's part and the shim's `start` are one phase.
    span("shimStart", prepare, spawnedLine.t);
    span("daemonUp", spawnedLine.t, up);
  } else if (spawnedLine) {
    const exec = spawnedLine.t - Number(spawnedLine.fields.ms);
    span("toShim", prepare, exec);
    span("shimStart", exec, spawnedLine.t);
    span("daemonUp", spawnedLine.t, up);
  } else {
    // No `spawned daemon` line (runc's shim, or a shim built before it had one): one phase to "up".
    span("shimStart", prepare, up);
  }
  span("create", up, tCreated);
  span("start", tCreated, tStarted);
  span("firstOutput", tStarted, run.tOutput);
  span("exit", Number.isFinite(run.tOutput) ? run.tOutput : tStarted, tExited);
  span(
    "delete",
    tExited,
    first(win, (l) => l.msg === "shim disconnected" && l.fields.id === id),
  );
  span("cleanup", tExited, run.tEnd);
  return p;
}
