import type { spawn, StdioOptions } from "node:child_process";
import { EventEmitter } from "node:events";
import { closeSync } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { Socket } from "node:net";
import type { Writable } from "node:stream";
import { signalNumber } from "../run-helper.ts";
import { native } from "../sea/native.ts";
import type { RuntimeChild } from "./oci-runtime.ts";
import { onExit } from "./reaper.ts";

/** Spawns `runc run --detach … --pid-file PIDFILE` with this stdio. */
type Launch = (pidFile: string, stdio: StdioOptions) => ReturnType<typeof spawn>;

/**
 * A container's init run as `runc run --detach` under the subreaper (reaper.ts): it looks to the
 * Task service like the foreground `runc run` it replaces (the pid file appears once the process
 * runs, `exit` carries its status), but no runc process stays behind. One runc process, not
 * `runc create` and `runc start`: each runc is a Go start-up and a load of the container's state
 * (10 ms of a container's Start here). Its stdin, when piped, is a pipe of our own: Node closes a
 * child's stdin stream when the child (here runc) exits, and the container outlives it.
 */
export class DetachedInit extends EventEmitter implements RuntimeChild {
  readonly stdin: Writable | null = null;
  readonly running: Promise<number | undefined>;
  #running: (pid: number | undefined) => void = () => {};

  constructor(launch: Launch, pidFile: string, stdio: StdioOptions) {
    super();
    this.running = new Promise((resolve) => {
      this.#running = resolve;
    });
    const fds = [...(stdio as unknown[])];
    let readEnd: number | undefined;
    if (fds[0] === "pipe") {
      const [r, w] = native().pipe();
      readEnd = r;
      fds[0] = r;
      this.stdin = new Socket({ fd: w, readable: false, writable: true });
    }
    const created = `${pidFile}.create`;
    let child: ReturnType<typeof spawn>;
    try {
      child = launch(created, fds as StdioOptions);
    } finally {
      if (readEnd !== undefined) closeSync(readEnd);
    }
    child.once("error", (err) => this.#fail(err));
    child.once("exit", (code, signal) => {
      if (code !== 0) return this.#end(code ?? 128 + signalNumber(signal ?? ""));
      void this.#started(created, pidFile);
    });
  }

  async #started(created: string, pidFile: string): Promise<void> {
    const pid = Number.parseInt(await readFile(created, "utf8").catch(() => ""), 10);
    if (!(pid > 0)) return this.#fail(new Error("runc run wrote no pid"));
    // Only now, runc having succeeded, is there a process to report: the Task service waits for
    // this file. Its exit is taken after (its zombie waits), so the file is there before the exit is.
    const renamed = await rename(created, pidFile).then(
      () => true,
      async (err: Error) => {
        await rm(created, { force: true });
        this.#fail(err);
        return false;
      },
    );
    if (renamed) this.#running(pid);
    onExit(pid, (status) => this.#end(status));
  }

  #fail(err: Error): void {
    this.#running(undefined);
    this.stdin?.destroy();
    this.emit("error", err);
  }

  #end(status: number): void {
    this.#running(undefined);
    this.stdin?.destroy();
    this.emit("exit", status, null);
  }
}
