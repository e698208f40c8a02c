import type { StdioOptions } from "node:child_process";
import type { Socket } from "node:net";
import { readFile, rm } from "node:fs/promises";
import type { Status } from "../gen/containerd/types/task_pb.ts";
import { Code, ShimError } from "../errors.ts";
import { signalNumber } from "../run-helper.ts";
import type { RuntimeChild } from "../runc/oci-runtime.ts";
import type { Process } from "../oci/spec.ts";
import { isLive, next, wireStatus, type Action, type State } from "./lifecycle.ts";
import { endInput, openStdio, type StdioPaths } from "./stdio.ts";
import { Terminal } from "./terminal.ts";

/** A terminal's size as ResizePty gives it. */
export interface WindowSize {
  width: number;
  height: number;
}

/** How Start runs a process: prepared once the lifecycle has let the Start through. */
export interface Launch {
  /** With a `consoleSocket` the process gets a terminal (task/terminal.ts). */
  launch(stdio: StdioOptions, consoleSocket?: string): RuntimeChild;
  /** Where the runtime writes the pid once the process exists. */
  pidFile: string;
  /** Why the runtime failed, from its log, when it exits without a pid. */
  lastError(): Promise<string | undefined>;
}

/** The container's init process or one exec'd process, as containerd sees it. */
export class TaskProcess {
  readonly execId: string;
  /** Names the process in refusals: "task c1", "exec e1 in c1". */
  readonly subject: string;
  readonly stdio: StdioPaths;
  /** For exec processes: the OCI process to run. */
  spec: Process | undefined;
  pid = 0;
  exitStatus = 0;
  exitedAt: Date | undefined;
  /** Resolves once the process has exited and its exit is recorded. */
  readonly exited: Promise<void>;
  #state: State = "created";
  #exitRecorded = false;
  #starting: Promise<unknown> | undefined;
  /** The runtime call a pausing, resuming or deleting state stands for, while it runs. */
  #underway: Promise<unknown> | undefined;
  /** A signal the runtime is delivering (runc kill), while it runs. */
  #signalling: Promise<unknown> | undefined;
  #markDone!: () => void;
  #child: RuntimeChild | undefined;
  /** The client's stdin FIFO while it is copied to the child's stdin pipe. */
  #stdinSource: Socket | undefined;
  /** Set for a process with a terminal once it is launched. */
  #terminal: Terminal | undefined;
  /** A ResizePty before Start: the spec gets it as the first size, the master once there is one. */
  #size: WindowSize | undefined;
  #startError: string | undefined;

  constructor(containerId: string, execId: string, stdio: StdioPaths) {
    this.execId = execId;
    this.subject = execId ? `exec ${execId} in ${containerId}` : `task ${containerId}`;
    this.stdio = stdio;
    this.exited = new Promise((resolve) => (this.#markDone = resolve));
  }

  get description(): string {
    return this.execId ? `exec ${this.execId}` : "task";
  }

  get state(): State {
    return this.#state;
  }

  /** What State reports (lifecycle.ts). */
  get status(): Status {
    return wireStatus(this.#state);
  }

  /** Has a pid that can be signalled, listed, measured. */
  get running(): boolean {
    return isLive(this.#state);
  }

  /** The one place a status changes: an action the table refuses throws and changes nothing. */
  to(action: Action): State {
    this.#state = next(this.#state, action, this.subject);
    return this.#state;
  }

  /** A runtime call that a state of its own stands for (pausing, resuming, deleting): should it fail, the process goes back. */
  async underway(call: () => Promise<unknown>): Promise<void> {
    let running: Promise<unknown> | undefined;
    try {
      running = call();
      this.#underway = running;
      await running;
    } catch (err) {
      this.to("failed");
      throw err;
    } finally {
      if (this.#underway === running) this.#underway = undefined;
    }
  }

  /** A signal delivered through the runtime: a Pause or Resume that comes meanwhile waits for it. */
  async signal(call: () => Promise<void>): Promise<void> {
    const signalling = call();
    this.#signalling = signalling;
    try {
      await signalling;
    } finally {
      if (this.#signalling === signalling) this.#signalling = undefined;
    }
  }

  /**
   * Resolves once a Start and a runtime call under way (pause, resume, removal) have succeeded or
   * failed, and a signal being delivered has been; at once when none is. Kill waits for this, as
   * containerd's shim holds the process's lock across each: runc pause and runc kill at once can
   * leave the process frozen with SIGKILL pending (cgroup v1), its Wait never answered.
   */
  async settled(): Promise<void> {
    await this.#starting?.catch(() => {});
    await this.#underway?.catch(() => {});
    await this.delivered();
  }

  /** Resolves once no signal is being delivered: Pause and Resume wait for this (see settled). */
  async delivered(): Promise<void> {
    await this.#signalling?.catch(() => {});
  }

  /**
   * Prepares the launch, runs the runtime child with the container's stdio and waits until it has
   * written the pid file. Returns the pid and the eventual exit status; the caller publishes
   * TaskStart before it attaches to `exit`, so start always precedes exit on the event stream. A
   * failure before anything was launched leaves the process created (Start may be tried again); a
   * runtime that ran and failed ends it.
   */
  start(prepare: (size?: WindowSize) => Promise<Launch>): Promise<{ pid: number; exit: Promise<number> }> {
    this.to("start");
    const starting = this.#start(prepare);
    this.#starting = starting;
    return starting;
  }

  async #start(prepare: (size?: WindowSize) => Promise<Launch>): Promise<{ pid: number; exit: Promise<number> }> {
    let child: RuntimeChild;
    let how: Launch;
    let io: Awaited<ReturnType<typeof openStdio>> | undefined;
    try {
      // A size set before Start goes into the process spec: runc sizes the pty before the process
      // exists, where the master (received once runc returns) would come a moment too late.
      how = await prepare(this.stdio.terminal ? this.#size : undefined);
      // Waited for below: one an earlier process of this id left (a bundle used again, an exec id
      // reused) would be taken for this one's, while runc is still starting it (found by tools/fuzz).
      await rm(how.pidFile, { force: true });
      if (this.stdio.terminal) {
        this.#terminal = Terminal.listen();
        if (this.#size) this.#terminal.resize(this.#size.width, this.#size.height);
        child = this.#terminal.follow(
          how.launch(["ignore", "ignore", "ignore"], this.#terminal.socketPath),
          how.pidFile,
          this.stdio,
        );
      } else {
        io = await openStdio(this.stdio);
        try {
          child = how.launch([io.stdin ? "pipe" : "ignore", io.stdout?.fd ?? "ignore", io.stderr?.fd ?? "ignore"]);
        } catch (err) {
          await io.close();
          throw err;
        }
      }
    } catch (err) {
      this.#terminal?.close();
      this.to("failed");
      throw err;
    }
    this.#child = child;
    // Listen before the first await: a failed spawn reports 'error' on the next tick.
    let finished = false;
    const exit = new Promise<number>((resolve) => {
      child.once("error", (err) => {
        finished = true;
        this.#startError = err.message;
        resolve(255);
      });
      child.once("exit", (code, signal) => {
        finished = true;
        resolve(code ?? 128 + signalNumber(signal ?? ""));
      });
    });
    // runc holds its own copies now; ours would keep the client's FIFOs open after the process ends.
    await io?.stdout?.close();
    if (io?.stderr !== io?.stdout) await io?.stderr?.close();
    if (io) void exit.then(io.releaseReaders);
    if (io?.stdin && child.stdin) {
      const stdin = child.stdin;
      stdin.on("error", () => {});
      io.stdin.on("error", () => stdin.end());
      io.stdin.pipe(stdin);
      this.#stdinSource = io.stdin;
      child.once("exit", () => io?.stdin?.destroy());
    }
    const pid = await (child.running ?? waitForPid(how.pidFile, () => finished));
    if (pid === undefined) {
      const status = await exit;
      const reason = this.#startError ?? (await how.lastError()) ?? `runc exited with status ${status}`;
      this.finish(status);
      throw new ShimError(Code.UNKNOWN, `failed to start ${this.description}: ${reason}`);
    }
    this.pid = pid;
    this.to("started");
    return { pid, exit };
  }

  /** Records the exit, once: the first status is the one Wait and State report. */
  finish(status: number, at = new Date()): void {
    if (this.#exitRecorded) return;
    this.#exitRecorded = true;
    this.to("exited");
    this.exitStatus = status;
    this.exitedAt = at;
    this.#markDone();
  }

  closeStdin(): void {
    const sink = this.#child?.stdin;
    const source = this.#stdinSource;
    this.#stdinSource = undefined;
    if (sink && source && !source.destroyed) endInput(source, sink);
    else sink?.end();
    this.#terminal?.closeStdin();
  }

  /** ResizePty. A process without a terminal has no size to set, as with containerd's runc shim. */
  resize(width: number, height: number): void {
    if (!this.stdio.terminal) return;
    this.#size = { width, height };
    this.#terminal?.resize(width, height);
  }
}

async function waitForPid(pidFile: string, finished: () => boolean): Promise<number | undefined> {
  for (;;) {
    const done = finished();
    const text = await readFile(pidFile, "utf8").catch(() => "");
    const pid = Number.parseInt(text, 10);
    if (pid > 0) return pid;
    if (done) return undefined;
    await new Promise((r) => setTimeout(r, 4));
  }
}
