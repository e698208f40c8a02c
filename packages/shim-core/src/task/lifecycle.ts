import type { Status as WireStatus } from "../gen/containerd/types/task_pb.ts";
import { Status } from "../gen/wire/containerd/types/task.ts";
import { failedPrecondition, notFound } from "../errors.ts";

/**
 * The life of one process of a task (its init, or an exec) as a table of (state, action) → state,
 * modelled on containerd's runc shim (pkg/process: init_state.go, exec_state.go): the same states
 * and the same refusals, which reach containerd as FailedPrecondition. Where this shim differs, it
 * is a row of its own, for a reason:
 * - runc runs in the foreground from Start (architecture.md), so before Start runc has nothing:
 *   a created task cannot be updated or exec'd into, and a kill only decides how it ends.
 * - containerd's shim holds a lock across each runc call. Here a call under way is a state
 *   (starting, pausing, resuming, deleting), so a second request is refused at once instead of
 *   racing the first (two `runc run`s, two TaskDelete events). `pausing` is containerd's PAUSING,
 *   what runc reports while the freezer works; the others report as the state they leave.
 * - An exit is the kernel's word, not a request: it is accepted in every state.
 */
export type State =
  | "created"
  | "starting"
  | "running"
  | "pausing"
  | "paused"
  | "resuming"
  | "stopped"
  | "deleting"
  | "deleted";

/**
 * Requests (start, kill, pause, resume, delete; exec, startExec and update ask the init whether
 * an exec may be added or started, or resources changed) and what became of a runc call under
 * way: started, paused, resumed, deleted, or failed (nothing changed: back where it was).
 */
export type Action =
  | "start"
  | "started"
  | "exited"
  | "kill"
  | "pause"
  | "paused"
  | "resume"
  | "resumed"
  | "failed"
  | "delete"
  | "deleted"
  | "exec"
  | "startExec"
  | "update";

/** A signal to a process that has already exited: containerd's shim answers NotFound (runc's ESRCH). */
const GONE = "gone";
type Cell = State | typeof GONE;

/** Missing pairs are refused. Actions that leave the state as it is are checks (exec, update, kill of a live process). */
const table: Record<State, Partial<Record<Action, Cell>>> = {
  created: { start: "starting", exited: "stopped", kill: "stopped", delete: "deleting", exec: "created" },
  starting: { started: "running", exited: "stopped", failed: "created", exec: "starting" },
  running: {
    exited: "stopped",
    kill: "running",
    pause: "pausing",
    exec: "running",
    startExec: "running",
    update: "running",
  },
  pausing: { exited: "stopped", kill: "pausing", paused: "paused", failed: "running" },
  paused: { exited: "stopped", kill: "paused", resume: "resuming", update: "paused" },
  resuming: { exited: "stopped", kill: "resuming", resumed: "running", failed: "paused" },
  // `failed` here: the process exited while a runc call on it was under way.
  stopped: { exited: "stopped", kill: GONE, failed: "stopped", delete: "deleting" },
  deleting: { exited: "deleting", kill: GONE, deleted: "deleted", failed: "stopped" },
  deleted: { exited: "deleted", kill: GONE },
};

export const states = Object.keys(table) as State[];
export const actions: readonly Action[] = [
  "start",
  "started",
  "exited",
  "kill",
  "pause",
  "paused",
  "resume",
  "resumed",
  "failed",
  "delete",
  "deleted",
  "exec",
  "startExec",
  "update",
];

/** What containerd sees in State: a call under way reports the state it leaves, but for PAUSING. */
const wire: Record<State, WireStatus> = {
  created: Status.CREATED,
  starting: Status.CREATED,
  running: Status.RUNNING,
  pausing: Status.PAUSING,
  paused: Status.PAUSED,
  resuming: Status.PAUSED,
  stopped: Status.STOPPED,
  deleting: Status.STOPPED,
  deleted: Status.STOPPED,
};

export const wireStatus = (s: State): WireStatus => wire[s];

/** A process that exists and has a pid: something to signal, list or measure. */
export const isLive = (s: State): boolean => s === "running" || s === "pausing" || s === "paused" || s === "resuming";

// An outcome is refused in the words of the request it ends.
const verb: Partial<Record<Action, string>> = {
  started: "start",
  paused: "pause",
  resumed: "resume",
  deleted: "delete",
  failed: "fail",
  exec: "exec in",
  startExec: "start an exec in",
};

/**
 * The state `action` leads to from `state`, or the error containerd expects: FailedPrecondition
 * for a pair the table does not have, NotFound for a signal to a process that is gone. `subject`
 * names the process in the message ("task c1", "exec e1 in c1").
 */
export function next(state: State, action: Action, subject: string): State {
  const to = table[state][action];
  if (to === GONE) throw notFound(`${subject}: process already finished`);
  if (to === undefined) throw failedPrecondition(`cannot ${verb[action] ?? action} ${subject}: it is ${state}`);
  return to;
}
