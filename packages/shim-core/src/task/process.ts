import type { StdioOptions } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Status } from "../gen/containerd/types/task_pb.ts";
import { Code, ShimError, failedPrecondition } from "../errors.ts";
import { signalNumber } from "../exec.ts";
import type { RuntimeChild } from "../runc/oci-runtime.ts";
import type { Process } from "../oci/spec.ts";
import { openStdio, type StdioPaths } from "./stdio.ts";

export const statusName = (s: Status) => Status[s]?.toLowerCase() ?? String(s);

/** The container's init process or one exec'd process, as containerd sees it. */
export class TaskProcess {
  readonly execId: string;
  readonly stdio: StdioPaths;
  /** For exec processes: the OCI process to run. */
  spec: Process | undefined;
  status: Status = Status.CREATED;
  pid = 0;
  exitStatus = 0;
  exitedAt: Date | undefined;
  /** Resolves once the process has exited and its exit is recorded. */
  readonly exited: Promise<void>;
  private markDone!: () => void;
  private child: RuntimeChild | undefined;
  private startError: string | undefined;

  constructor(execId: string, stdio: StdioPaths) {
    this.execId = execId;
    this.stdio = stdio;
    this.exited = new Promise((resolve) => (this.markDone = resolve));
  }

  get description(): string {
    return this.execId ? `exec ${this.execId}` : "task";
  }

  /**
   * Launches the runc child with the container's stdio and waits until runc has written the pid
   * file. Returns the pid and the eventual exit status; the caller publishes TaskStart before it
   * attaches to `exit`, so start always precedes exit on the event stream.
   */
  async start(launch: (stdio: StdioOptions) => RuntimeChild, pidFile: string, lastError: () => Promise<string | undefined>): Promise<{ pid: number; exit: Promise<number> }> {
    if (this.status !== Status.CREATED) throw failedPrecondition(`cannot start ${this.description} in ${statusName(this.status)} state`);
    const io = await openStdio(this.stdio);
    const child = launch([io.stdin ? "pipe" : "ignore", io.stdout?.fd ?? "ignore", io.stderr?.fd ?? "ignore"]);
    this.child = child;
    // Listen before the first await: a failed spawn reports 'error' on the next tick.
    let finished = false;
    const exit = new Promise<number>((resolve) => {
      child.once("error", (err) => {
        finished = true;
        this.startError = err.message;
        resolve(255);
      });
      child.once("exit", (code, signal) => {
        finished = true;
        resolve(code ?? 128 + signalNumber(signal ?? ""));
      });
    });
    // runc holds its own copies now; ours would keep the client's FIFOs open after the process ends.
    await io.stdout?.close();
    if (io.stderr !== io.stdout) await io.stderr?.close();
    if (io.stdin && child.stdin) {
      const stdin = child.stdin;
      stdin.on("error", () => {});
      io.stdin.on("error", () => stdin.end());
      io.stdin.pipe(stdin);
      child.once("exit", () => io.stdin?.destroy());
    }
    const pid = await waitForPid(pidFile, () => finished);
    if (pid === undefined) {
      const status = await exit;
      const reason = this.startError ?? (await lastError()) ?? `runc exited with status ${status}`;
      this.finish(status);
      throw new ShimError(Code.UNKNOWN, `failed to start ${this.description}: ${reason}`);
    }
    this.pid = pid;
    this.status = Status.RUNNING;
    return { pid, exit };
  }

  /** Records the exit; idempotent. */
  finish(status: number, at = new Date()): void {
    if (this.status === Status.STOPPED) return;
    this.status = Status.STOPPED;
    this.exitStatus = status;
    this.exitedAt = at;
    this.markDone();
  }

  closeStdin(): void {
    this.child?.stdin?.end();
  }

  get running(): boolean {
    return this.status === Status.RUNNING || this.status === Status.PAUSED || this.status === Status.PAUSING;
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
