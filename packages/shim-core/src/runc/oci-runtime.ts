import type { StdioOptions } from "node:child_process";
import type { Writable } from "node:stream";

/** How to call the runtime: runc's own global flags, which the runtime options can change. */
export interface RuncConfig {
  binary: string;
  root: string;
  systemdCgroup: boolean;
}

/** A process the runtime started: the shim feeds its stdin and waits for its end. */
export interface RuntimeChild {
  readonly stdin: Writable | null;
  /**
   * The process's pid once the pid file holds it, or undefined when it never will, from a child
   * that knows the moment (runc.ts's detached init): the Task service then need not poll the file.
   */
  readonly running?: Promise<number | undefined>;
  once(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: "error", listener: (err: Error) => void): this;
}

/**
 * Everything the Task service asks of the OCI runtime, so that it can run on runc (runc.ts) or,
 * in the unit tests, on a fake that needs neither root nor runc. `run` and `exec` return a child
 * whose `exit` is the process's (runc.ts: `runc create` + `start` under the daemon as subreaper
 * for `run`, a foreground `runc exec`), write the process's pid to `pidFile` once it runs (the
 * shim waits for that file), and log JSON lines to `logFile`; `preserveFds` of `stdio`'s entries
 * after the first three reach the process as fds 3… With a `consoleSocket` the process gets a
 * terminal, the runtime sends its master there and returns once the process runs (task/terminal.ts).
 */
export interface OciRuntime {
  readonly config: RuncConfig;
  run(
    id: string,
    bundle: string,
    pidFile: string,
    logFile: string,
    stdio: StdioOptions,
    preserveFds?: number,
    consoleSocket?: string,
  ): RuntimeChild;
  exec(
    id: string,
    processFile: string,
    pidFile: string,
    logFile: string,
    stdio: StdioOptions,
    preserveFds?: number,
    consoleSocket?: string,
  ): RuntimeChild;
  /** Signals the container's init, or with `all` every process in it. */
  kill(id: string, signal: number, all: boolean): Promise<void>;
  /** Signals one exec'd process by pid: runc has no command for that, runc's shim does the same. */
  signal(pid: number, signal: number | NodeJS.Signals): void;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Removes the stopped container and its cgroup; one already gone is no error. */
  delete(id: string): Promise<void>;
  ps(id: string): Promise<number[]>;
  update(id: string, resourcesJson: string): Promise<void>;
  /** The container's cgroups as the runtime recorded them: per v1 controller, or "" for v2. */
  cgroupPaths(id: string): Promise<Record<string, string>>;
  /** The last error the runtime logged in `logFile`, to say why a process did not start. */
  lastError(logFile: string): Promise<string | undefined>;
}

/** Makes the runtime a Create's runtime options select. */
export type OciRuntimeFactory = (config: RuncConfig) => OciRuntime;

/** runc's statistics JSON (libcontainer types.Stats), the part the shim reads. */
export interface RuncStats {
  cpu?: {
    usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number };
    throttling?: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory?: {
    cache?: number;
    usage?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    swap?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    kernel?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    kernelTCP?: { limit?: number; usage?: number; max?: number; failcnt?: number };
    raw?: Record<string, number>;
  };
  pids?: { current?: number; limit?: number };
}
