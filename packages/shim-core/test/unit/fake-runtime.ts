import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { notFound, ShimError, Code } from "../../src/errors.ts";
import type { OciRuntime, RuncConfig, RuntimeChild } from "../../src/runc/oci-runtime.ts";

/** A runtime process that ends when the test (or a signal) says so. */
class FakeChild extends EventEmitter implements RuntimeChild {
  readonly stdin = null;
  ended = false;

  end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    // Later, like a real child: the shim attaches its listeners first.
    setImmediate(() => this.emit("exit", code, null));
  }
}

interface FakeProcess {
  id: string;
  execId: string;
  pid: number;
  child: FakeChild;
}

export type Op = "run" | "exec" | "kill" | "pause" | "resume" | "delete" | "ps" | "update";

/**
 * An OciRuntime for unit tests: no root, no runc, no processes. `run` and `exec` write a pid file
 * (the shim waits for it, as for runc) and hand back a child that exits when the test calls
 * `exit`, or when a kill or signal reaches it, with runc's foreground status (128 + signal). A
 * step can be made to fail (`fail`) or to wait until the test lets it go on (`hold`), to look at
 * the task while a runc call is under way.
 */
export class FakeRuntime implements OciRuntime {
  config: RuncConfig = { binary: "fake-runc", root: "/nonexistent", systemdCgroup: false };
  /** Every call, in order: "run c1", "exec c1 e1", "kill c1 15", "signal 40001 9", … */
  readonly calls: string[] = [];
  readonly #processes = new Map<number, FakeProcess>();
  readonly #failing = new Map<Op, string>();
  readonly #held = new Map<Op, Promise<void>>();
  #nextPid = 40_000;

  /** The factory TaskService takes: every Create gets this one runtime, with its options' config. */
  readonly factory = (config: RuncConfig): OciRuntime => {
    this.config = config;
    return this;
  };

  /** Until `clear`, `op` fails with `message` (what runc would print). */
  fail(op: Op, message = `fake runc: ${op} failed`): void {
    this.#failing.set(op, message);
  }

  clear(): void {
    this.#failing.clear();
  }

  /** The next `op` waits until the returned function is called; for run/exec, the pid file waits. */
  hold(op: Op): () => void {
    let release!: () => void;
    this.#held.set(op, new Promise<void>((r) => (release = r)));
    return () => {
      this.#held.delete(op);
      release();
    };
  }

  /** Ends a container's init (or one exec) as if its process exited with `code`. */
  exit(id: string, code: number, execId = ""): void {
    const p = [...this.#processes.values()].find((x) => x.id === id && x.execId === execId && !x.child.ended);
    if (!p) throw new Error(`fake runtime: no live process ${id}/${execId}`);
    this.#end(p, code);
  }

  live(id: string): number[] {
    return [...this.#processes.values()].filter((p) => p.id === id && !p.child.ended).map((p) => p.pid);
  }

  #end(p: FakeProcess, code: number): void {
    p.child.end(code);
    // The init's end takes every exec with it, as its PID namespace goes.
    if (!p.execId) for (const e of this.#processes.values()) if (e.id === p.id && e.execId) e.child.end(137);
  }

  async #step(op: Op, what: string): Promise<void> {
    this.calls.push(what);
    await this.#held.get(op);
    const message = this.#failing.get(op);
    if (message) throw new ShimError(Code.UNKNOWN, `runc ${op}: ${message}`);
  }

  #spawn(op: "run" | "exec", id: string, execId: string, pidFile: string, what: string): RuntimeChild {
    this.calls.push(what);
    const child = new FakeChild();
    const message = this.#failing.get(op);
    const initLive = this.live(id).length > 0;
    if (message || (op === "exec" && !initLive)) {
      this.lastLogged = message ?? "container not running";
      child.end(1);
      return child;
    }
    const pid = ++this.#nextPid;
    this.#processes.set(pid, { id, execId, pid, child });
    const gate = this.#held.get(op);
    if (gate) void gate.then(() => writeFileSync(pidFile, String(pid)));
    else writeFileSync(pidFile, String(pid));
    return child;
  }

  /** What lastError reports: the message of the last launch that failed. */
  lastLogged: string | undefined;

  run(id: string, _bundle: string, pidFile: string): RuntimeChild {
    return this.#spawn("run", id, "", pidFile, `run ${id}`);
  }

  exec(id: string, processFile: string, pidFile: string): RuntimeChild {
    const execId = /exec-(.+)\.json$/.exec(processFile)?.[1] ?? "?";
    return this.#spawn("exec", id, execId, pidFile, `exec ${id} ${execId}`);
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.#step("kill", `kill ${id} ${signal}${all ? " all" : ""}`);
    const init = [...this.#processes.values()].find((p) => p.id === id && !p.execId && !p.child.ended);
    if (!init) throw notFound(`runc kill: container ${id} is not running`);
    this.#end(init, 128 + signal);
  }

  signal(pid: number, signal: number | NodeJS.Signals): void {
    const n = typeof signal === "number" ? signal : signal === "SIGKILL" ? 9 : 15;
    this.calls.push(`signal ${pid} ${n}`);
    const p = this.#processes.get(pid);
    if (!p || p.child.ended) throw notFound(`process ${pid} already finished`);
    this.#end(p, 128 + n);
  }

  async pause(id: string): Promise<void> {
    await this.#step("pause", `pause ${id}`);
  }

  async resume(id: string): Promise<void> {
    await this.#step("resume", `resume ${id}`);
  }

  async delete(id: string): Promise<void> {
    await this.#step("delete", `delete ${id}`);
    for (const [pid, p] of this.#processes) if (p.id === id && p.child.ended) this.#processes.delete(pid);
  }

  async ps(id: string): Promise<number[]> {
    await this.#step("ps", `ps ${id}`);
    return this.live(id);
  }

  async update(id: string, resourcesJson: string): Promise<void> {
    await this.#step("update", `update ${id} ${resourcesJson}`);
  }

  /** No cgroups: OOM watching and Stats after exit find nothing to read. */
  async cgroupPaths(): Promise<Record<string, string>> {
    return {};
  }

  async lastError(): Promise<string | undefined> {
    return this.lastLogged;
  }
}
