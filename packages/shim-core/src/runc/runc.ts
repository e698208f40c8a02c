import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { execFile } from "../run-helper.ts";
import { Code, ShimError, invalidArgument, isShimError, notFound } from "../errors.ts";
import { DetachedInit } from "./detached.ts";
import type { OciRuntime, RuncConfig, RuntimeChild } from "./oci-runtime.ts";
import { becomeSubreaper } from "./reaper.ts";

/** Everything the shim asks of the OCI runtime, as runc command lines. */
export class Runc implements OciRuntime {
  readonly config: RuncConfig;
  constructor(config: RuncConfig) {
    this.config = config;
  }

  #globals(logFile?: string): string[] {
    const args = ["--root", this.config.root];
    if (this.config.systemdCgroup) args.push("--systemd-cgroup");
    if (logFile) args.push("--log", logFile, "--log-format", "json");
    return args;
  }

  /**
   * `runc run --detach` with the daemon as the init's subreaper (detached.ts), so no runc
   * process waits beside the task. With a `consoleSocket` (a terminal: runc uses one only when it
   * detaches, task/terminal.ts), or without the native helper, `runc run --keep`: in the
   * foreground its exit status is the container's (128+signal when killed). `--detach` (and
   * `--keep`) leave the stopped container (and its cgroup, where the OOM count is) for the shim to
   * delete. `preserveFds` of `stdio`'s entries after the first three reach the container's process
   * as fds 3… (how a Wasm container gets its runner, runner-files.ts).
   */
  run(
    id: string,
    bundle: string,
    pidFile: string,
    logFile: string,
    stdio: StdioOptions,
    preserveFds = 0,
    consoleSocket?: string,
  ): RuntimeChild {
    if (consoleSocket || !becomeSubreaper())
      return this.#runForeground(id, bundle, pidFile, logFile, stdio, preserveFds, consoleSocket);
    const launch = (runPidFile: string, fds: StdioOptions) =>
      spawn(
        this.config.binary,
        [
          ...this.#globals(logFile),
          "run",
          "--detach",
          ...preserve(preserveFds),
          "--bundle",
          bundle,
          "--pid-file",
          runPidFile,
          id,
        ],
        { stdio: fds },
      );
    return new DetachedInit(launch, pidFile, stdio);
  }

  #runForeground(
    id: string,
    bundle: string,
    pidFile: string,
    logFile: string,
    stdio: StdioOptions,
    preserveFds: number,
    consoleSocket?: string,
  ): ChildProcess {
    return spawn(
      this.config.binary,
      [
        ...this.#globals(logFile),
        "run",
        "--keep",
        ...console(consoleSocket),
        ...preserve(preserveFds),
        "--bundle",
        bundle,
        "--pid-file",
        pidFile,
        id,
      ],
      { stdio },
    );
  }

  /** `runc exec` in the foreground, for the same reason as run (detached with a terminal, as run). */
  exec(
    id: string,
    processFile: string,
    pidFile: string,
    logFile: string,
    stdio: StdioOptions,
    preserveFds = 0,
    consoleSocket?: string,
  ): ChildProcess {
    return spawn(
      this.config.binary,
      [
        ...this.#globals(logFile),
        "exec",
        ...console(consoleSocket),
        ...preserve(preserveFds),
        "--process",
        processFile,
        "--pid-file",
        pidFile,
        id,
      ],
      { stdio },
    );
  }

  async #call(args: string[], input?: string): Promise<string> {
    const result = await execFile(
      this.config.binary,
      [...this.#globals(), ...args],
      input === undefined ? {} : { input },
    );
    if (result.code === 0) return result.stdout;
    const message = result.stderr.trim() || `exit status ${result.code}`;
    if (/does not exist|not running|container .* is stopped|no such process/i.test(message))
      throw notFound(`runc ${args[0]}: ${message}`);
    throw new ShimError(Code.UNKNOWN, `runc ${args[0]}: ${message}`);
  }

  async kill(id: string, signal: number, all: boolean): Promise<void> {
    await this.#call(all ? ["kill", "--all", id, String(signal)] : ["kill", id, String(signal)]);
  }
  signal(pid: number, signal: number | NodeJS.Signals): void {
    // process.kill(0) would signal the shim's own process group.
    if (!(pid > 0)) throw invalidArgument(`no process to signal (pid ${pid})`);
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") throw notFound(`process ${pid} already finished`);
      throw err;
    }
  }
  async pause(id: string): Promise<void> {
    await this.#call(["pause", id]);
  }
  async resume(id: string): Promise<void> {
    await this.#call(["resume", id]);
  }
  /**
   * Removes the container's state and cgroup. Already gone is fine, and so is a runc binary that
   * does not exist (it cannot have made anything); any other failure is the caller's to report,
   * as what remains must be retried.
   */
  async delete(id: string): Promise<void> {
    await this.#call(["delete", "--force", id]).catch((err: unknown) => {
      if (isShimError(err) && (err.code === Code.NOT_FOUND || /: spawn \S+ ENOENT$/.test(err.message))) return;
      throw err;
    });
  }
  async ps(id: string): Promise<number[]> {
    // runc prints `null` for a container with no process left.
    return (JSON.parse((await this.#call(["ps", "--format", "json", id])) || "[]") as number[] | null) ?? [];
  }
  async update(id: string, resourcesJson: string): Promise<void> {
    await this.#call(["update", "--resources", "-", id], resourcesJson);
  }

  /**
   * From runc's own state: `create` (and `run --keep`) leaves it (and the cgroups) in place after the process
   * dies, so this works even for a task the OOM killer ended at once. A hybrid v1 host has a ""
   * entry too, in its `unified` hierarchy.
   */
  async cgroupPaths(id: string): Promise<Record<string, string>> {
    try {
      const state = JSON.parse(await readFile(join(this.config.root, id, "state.json"), "utf8")) as {
        cgroup_paths?: Record<string, string>;
      };
      return state.cgroup_paths ?? {};
    } catch {
      return {};
    }
  }

  lastError(logFile: string): Promise<string | undefined> {
    return lastRuncError(logFile);
  }
}

/** The runtime the daemon uses: runc, as the runtime options name it. */
export const runcRuntime = (config: RuncConfig): OciRuntime => new Runc(config);

const preserve = (n: number): string[] => (n > 0 ? ["--preserve-fds", String(n)] : []);
const console = (socket: string | undefined): string[] => (socket ? ["--detach", "--console-socket", socket] : []);

/** The last error runc logged (its JSON log lines), for a message better than an exit status. */
export async function lastRuncError(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const errors = text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .filter((l) => l.level === "error" && l.msg);
  return errors.at(-1)?.msg;
}
