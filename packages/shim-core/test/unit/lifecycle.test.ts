import { describe, expect, it } from "vitest";
import { Code, isShimError } from "../../src/errors.ts";
import { Status } from "../../src/gen/containerd/types/task_pb.ts";
import { actions, isLive, next, states, wireStatus, type Action, type State } from "../../src/task/lifecycle.ts";

/** Where `action` leads from `state`, or the wire code of the refusal. */
function outcome(state: State, action: Action): State | number {
  try {
    return next(state, action, "task c1");
  } catch (err) {
    if (!isShimError(err)) throw err;
    return err.code;
  }
}

/** Follows a path of actions from created. */
const walk = (...path: Action[]): State => path.reduce<State>((s, a) => next(s, a, "task c1"), "created");

describe("the task lifecycle table", () => {
  it("runs a task the way containerd's runc shim does: create, start, pause, resume, exit, delete", () => {
    expect(walk("start", "started")).toBe("running");
    expect(walk("start", "started", "pause", "paused")).toBe("paused");
    expect(walk("start", "started", "pause", "paused", "resume", "resumed")).toBe("running");
    expect(walk("start", "started", "exited", "delete", "deleted")).toBe("deleted");
    // A task deleted before it ever started.
    expect(walk("delete", "exited", "deleted")).toBe("deleted");
  });

  it("refuses what containerd's shim refuses, with FailedPrecondition", () => {
    const refused: [State, Action][] = [
      ["running", "start"], // "cannot start a running process"
      ["stopped", "start"],
      ["running", "delete"], // "cannot delete a running process"
      ["paused", "delete"],
      ["created", "pause"],
      ["paused", "pause"], // "cannot pause a paused container"
      ["running", "resume"], // "cannot resume a running process"
      ["paused", "exec"], // "cannot exec in a paused state"
      ["stopped", "exec"], // "cannot exec in a stopped state"
      ["stopped", "update"],
      ["deleted", "delete"],
    ];
    for (const [state, action] of refused)
      expect(outcome(state, action), `${action} in ${state}`).toBe(Code.FAILED_PRECONDITION);
  });

  it("answers a signal to a process that has finished with NotFound, as runc's shim does", () => {
    for (const s of ["stopped", "deleting", "deleted"] as const) expect(outcome(s, "kill")).toBe(Code.NOT_FOUND);
    // Before Start the kill decides how the task ends; while it runs the exit follows the signal.
    expect(outcome("created", "kill")).toBe("stopped");
    for (const s of ["running", "pausing", "paused", "resuming"] as const) expect(outcome(s, "kill")).toBe(s);
  });

  it("refuses a second request while a runc call is under way instead of racing it", () => {
    expect(outcome("starting", "start")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("starting", "delete")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("pausing", "pause")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("pausing", "resume")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("pausing", "exec")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("resuming", "resume")).toBe(Code.FAILED_PRECONDITION);
    expect(outcome("deleting", "delete")).toBe(Code.FAILED_PRECONDITION);
  });

  it("goes back where it was when a runc call fails, and stays stopped if the process exited meanwhile", () => {
    expect(outcome("starting", "failed")).toBe("created");
    expect(outcome("pausing", "failed")).toBe("running");
    expect(outcome("resuming", "failed")).toBe("paused");
    expect(outcome("deleting", "failed")).toBe("stopped");
    expect(outcome("stopped", "failed")).toBe("stopped");
    // A stable state has no call to fail.
    for (const s of ["created", "running", "paused"] as const)
      expect(outcome(s, "failed")).toBe(Code.FAILED_PRECONDITION);
  });

  it("accepts an exit in every state: it is the kernel's word, not a request", () => {
    for (const s of states) {
      const to = outcome(s, "exited");
      expect(typeof to, s).toBe("string");
      expect(["stopped", "deleting", "deleted"]).toContain(to);
    }
  });

  it("lets outcomes happen only from the call they end", () => {
    const from: Partial<Record<Action, State>> = {
      started: "starting",
      paused: "pausing",
      resumed: "resuming",
      deleted: "deleting",
    };
    for (const [action, only] of Object.entries(from) as [Action, State][]) {
      for (const s of states)
        if (s !== only) expect(outcome(s, action), `${action} in ${s}`).toBe(Code.FAILED_PRECONDITION);
    }
  });

  it("reports PAUSING while the freezer works, and a call under way as the state it leaves", () => {
    expect(wireStatus("pausing")).toBe(Status.PAUSING);
    expect(wireStatus("starting")).toBe(Status.CREATED);
    expect(wireStatus("resuming")).toBe(Status.PAUSED);
    expect(wireStatus("deleting")).toBe(Status.STOPPED);
    expect(states.filter(isLive)).toEqual(["running", "pausing", "paused", "resuming"]);
  });

  it("reaches every state from created, and names the process and its state when it refuses", () => {
    const seen = new Set<State>(["created"]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const s of [...seen])
        for (const a of actions) {
          const to = outcome(s, a);
          if (typeof to === "string" && !seen.has(to)) seen.add(to), (grew = true);
        }
    }
    expect([...seen].sort()).toEqual([...states].sort());
    expect(() => next("paused", "exec", "task c1")).toThrow(
      "cannot exec in task c1: it is paused: failed precondition",
    );
  });
});
