import { EventEmitter } from "node:events";
import { closeSync, constants, mkdtempSync, open as openFd, rmSync } from "node:fs";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "node:net";
import type { Writable } from "node:stream";
import { ReadStream } from "node:tty";
import { native } from "../sea/native.ts";
import type { RuntimeChild } from "../runc/oci-runtime.ts";
import { becomeSubreaper, onExit } from "../runc/reaper.ts";
import { readPidFile } from "./bundle-files.ts";
import { openTerminalInput, openTerminalOutput, type StdioPaths } from "./stdio.ts";

/** How long an exit waits for the output still in the pty to reach the client (containerd's runc shim waits 2 s too). */
export const DRAIN_TIMEOUT_MS = 2_000;

/**
 * A process with a terminal, as containerd's runc shim runs one: runc (detached: only then does it
 * use a console socket) makes the pty, gives the slave to the process as fds 0–2 and sends the
 * master over a unix socket the shim listens on. The shim then copies stdin → master → stdout;
 * stderr is unused, a terminal has one output. As containerd's shim does, the shim holds the stdin
 * FIFO open for writing until CloseIO, so stdin ends only once both CloseIO came and the client
 * closed its end; that end closes the master (the process sees its terminal hang up).
 */
export class Terminal {
  readonly socketPath: string;
  readonly #dir: string;
  #listener: number | undefined;
  #master: { stream: ReadStream; fd: number } | undefined;
  #stdin: Socket | undefined;
  /** Our own writer on the stdin FIFO: until CloseIO, a client that closes its end is no EOF. */
  #stdinHold: number | undefined;
  #size: { rows: number; cols: number } | undefined;
  #closed = false;

  private constructor(dir: string) {
    this.#dir = dir;
    this.socketPath = join(dir, "pty.sock");
    try {
      this.#listener = native().consoleListen(this.socketPath);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * A console socket in a private directory of its own (runc connects as root; nobody else may).
   * The daemon becomes a subreaper first: the process is re-parented while runc still runs.
   */
  static listen(): Terminal {
    if (!becomeSubreaper())
      throw new Error("terminals need the daemon to be a child subreaper, which the native helper could not make it");
    return new Terminal(mkdtempSync(join(tmpdir(), "wasm-shim-pty-")));
  }

  /** The socket and its directory go as soon as runc has sent the master, or failed. */
  #closeSocket(): void {
    if (this.#listener !== undefined) native().closeFd(this.#listener);
    this.#listener = undefined;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /**
   * Takes a detached runc (`run -d`/`exec -d`) and answers as a foreground one would: `exit`
   * with the container process's status once it has ended and its output has drained. A runc that
   * failed exits with its own status, and the caller reads why from runc's log.
   */
  follow(runc: RuntimeChild, pidFile: string, stdio: StdioPaths): RuntimeChild {
    const child = new EventEmitter() as EventEmitter & RuntimeChild;
    Object.defineProperty(child, "stdin", { value: null });
    runc.once("error", (err) => {
      this.#closeSocket();
      child.emit("error", err);
    });
    runc.once("exit", (code, signal) => {
      if (code !== 0) {
        this.#closeSocket();
        child.emit("exit", code, signal);
        return;
      }
      void this.#attach(pidFile, stdio).then(
        ({ pid, drained }) =>
          onExit(pid, (status) => {
            void Promise.race([drained, new Promise((r) => setTimeout(r, DRAIN_TIMEOUT_MS).unref())]).then(() => {
              this.close();
              child.emit("exit", status, null);
            });
          }),
        (err: Error) => {
          this.close();
          // Without its terminal the process is of no use: it ends, and is reaped, before Start fails.
          const pid = readPidFile(pidFile);
          if (pid === 0) return void child.emit("error", err);
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
          onExit(pid, () => child.emit("error", err));
        },
      );
    });
    return child;
  }

  async #attach(pidFile: string, stdio: StdioPaths): Promise<{ pid: number; drained: Promise<void> }> {
    const pid = readPidFile(pidFile);
    if (pid === 0) throw new Error(`runc wrote no pid to ${pidFile}`);
    let fd: number;
    try {
      fd = native().consoleReceive(this.#listener!);
    } finally {
      this.#closeSocket();
    }
    if (this.#closed) {
      native().closeFd(fd);
      return { pid, drained: Promise.resolve() };
    }
    const master = new ReadStream(fd);
    this.#master = { stream: master, fd };
    if (this.#size) this.resize(this.#size.cols, this.#size.rows);
    const out: Writable | undefined = stdio.stdout ? await openTerminalOutput(stdio.stdout) : undefined;
    // Once the process and everything else holding the slave are gone, reading the master fails
    // with EIO (after what is still buffered): that, or CloseIO, ends the output.
    const drained = new Promise<void>((resolve) => {
      master.on("error", () => {});
      master.once("close", () => (out ? out.end(resolve) : resolve()));
      out?.on("error", () => master.unpipe(out));
    });
    if (out) master.pipe(out, { end: false });
    else master.resume();
    if (stdio.stdin) {
      const input = await openTerminalInput(stdio.stdin);
      this.#stdin = input;
      if (!this.#stdinClosed) this.#stdinHold = await holdOpen(stdio.stdin);
      input.on("error", () => this.close());
      input.once("end", () => this.close());
      input.pipe(master, { end: false });
    }
    return { pid, drained };
  }

  /** ResizePty: the size is kept until the master arrives, should it come first. */
  resize(cols: number, rows: number): void {
    this.#size = { rows, cols };
    if (!this.#master || this.#closed) return;
    native().setWinsize(this.#master.fd, rows, cols);
  }

  #stdinClosed = false;

  /** CloseIO: stdin ends once the client has closed its end too. */
  closeStdin(): void {
    this.#stdinClosed = true;
    if (this.#stdinHold !== undefined) closeSync(this.#stdinHold);
    this.#stdinHold = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeStdin();
    this.#closeSocket();
    this.#stdin?.destroy();
    this.#master?.stream.destroy();
  }
}

/** A writer on our own stdin FIFO (a reader, ours, exists: the open does not block). */
function holdOpen(uri: string): Promise<number> {
  return promisify(openFd)(
    uri.startsWith("fifo://") ? uri.slice("fifo://".length) : uri,
    constants.O_WRONLY | constants.O_NONBLOCK,
  );
}
