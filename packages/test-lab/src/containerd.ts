import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "./eventually.ts";
import { containerdConfig } from "./containerd-config.ts";
import { runCtr, spawnCtr, systemPath, type CtrOptions, type CtrResult } from "./ctr.ts";
import { ourFifoDirs } from "./leftover-files.ts";
import { findLeftovers, footprintFromDisk, isSpareLeftover, removeLeftovers, type Footprint } from "./leftovers.ts";
import { checkSocketPath, prepareDir, type ContainerdOptions, type HarnessState } from "./containerd-options.ts";
import { daemonRecords, deleteAllRecords, queryCtr } from "./containerd-records.ts";
import { uniqueNamespace } from "./namespace.ts";
import { isAlive, readProc, waitGone } from "./procfs.ts";

/** How often (every 100 ms) a surplus spare is looked at again: past its 2 s watch and a boot under load. */
const SURPLUS_SPARE_LOOKS = 40;

export type { CtrOptions, CtrResult } from "./ctr.ts";
export type { ContainerdOptions } from "./containerd-options.ts";

/**
 * A private containerd 1.6 (own root, state, sockets and config under `dir`) for end-to-end tests,
 * driven with `ctr`. Anything that outlives a test is found by leftovers() and removed by stop().
 */
export class Containerd {
  readonly dir: string;
  readonly socket: string;
  readonly ttrpcSocket: string;
  readonly namespace: string;
  #pid: number;
  #env: Record<string, string>;
  readonly #cgroup2: boolean;
  readonly #startedAt: number;
  #stopped = false;
  #finalLog = "";
  /** Container ids seen while the daemon was up, so cleanup can find their cgroups once they are gone. */
  #seen = new Set<string>();

  private constructor(state: HarnessState) {
    this.dir = state.dir;
    this.socket = state.socket;
    this.ttrpcSocket = state.ttrpcSocket;
    this.namespace = state.namespace;
    this.#pid = state.pid;
    this.#env = state.env;
    this.#cgroup2 = state.cgroup2 ?? false;
    this.#startedAt = state.startedAt ?? 0;
  }

  static async start(opts: ContainerdOptions = {}): Promise<Containerd> {
    if (opts.dir !== undefined) checkSocketPath(resolve(opts.dir));
    const dir = prepareDir(opts.dir);
    checkSocketPath(dir);
    const socket = join(dir, "run", "containerd.sock");
    const ttrpcSocket = `${socket}.ttrpc`;
    for (const sub of ["run", "opt", "cni/bin", "cni/conf"]) mkdirSync(join(dir, sub), { recursive: true });
    const config = containerdConfig({
      dir,
      socket,
      ttrpcSocket,
      logLevel: opts.logLevel ?? "info",
      cri: opts.cri ?? false,
      sandboxImage: opts.sandboxImage ?? "localhost/busybox-pause:test",
      runtimes: opts.runtimes ?? {},
    });
    writeFileSync(join(dir, "config.toml"), config);
    await opts.editConfig?.(join(dir, "config.toml"));
    // Absolute, since the daemon runs in `dir` and would resolve a relative PATH entry from there.
    const path = opts.shimDir ? `${resolve(opts.shimDir)}:${systemPath}` : systemPath;
    const env = { ...opts.env, PATH: path };
    // A second early: mtimes and Date.now() need not agree to the millisecond.
    const ctd = new Containerd({
      pid: 0,
      dir,
      socket,
      ttrpcSocket,
      namespace: opts.namespace ?? uniqueNamespace(),
      env,
      cgroup2: opts.cgroup2 ?? false,
      startedAt: Date.now() - 1000,
    });
    try {
      await ctd.#launch();
    } catch (e) {
      // The error carries the log's tail; a daemon that is merely slow must not outlive it.
      await ctd.stop();
      throw e;
    }
    return ctd;
  }

  /** Takes over an instance started elsewhere (e.g. by `tools/containerd.ts start`). */
  static attach(dir: string): Containerd {
    const state = JSON.parse(readFileSync(join(dir, "harness.json"), "utf8")) as HarnessState;
    return new Containerd(state);
  }

  get pid(): number {
    return this.#pid;
  }

  ctr(args: string[], opts: CtrOptions = {}): Promise<CtrResult> {
    return runCtr(this.#ctrTarget(opts), args, opts);
  }

  /** Starts ctr with piped stdio and returns at once, e.g. for a `ctr run` that stays attached. */
  ctrSpawn(args: string[], opts: CtrOptions = {}): ChildProcess {
    return spawnCtr(this.#ctrTarget(opts), args);
  }

  #ctrTarget(opts: CtrOptions): { socket: string; namespace: string } {
    return { socket: this.socket, namespace: opts.namespace ?? this.namespace };
  }

  async importImage(tarball: string, namespace?: string): Promise<void> {
    const r = await this.ctr(["image", "import", tarball], { ...(namespace ? { namespace } : {}), timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`ctr image import ${tarball} failed (${r.code}): ${r.stderr}`);
  }

  /**
   * Kills a task and deletes it and its container, whatever state they are in. Never rejects:
   * either may be gone already, and what is really left shows up in leftovers().
   */
  async removeContainer(id: string, opts: { namespace?: string; timeoutMs?: number } = {}): Promise<void> {
    const ctr = (args: string[]) =>
      this.ctr(args, opts).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    await ctr(["tasks", "kill", "-s", "SIGKILL", id]);
    // The task can only be deleted once its process has exited, a moment after the kill.
    await eventually(async () => {
      const r = await ctr(["tasks", "rm", "-f", id]);
      if (r.code !== 0 && !/not found/.test(r.stderr)) throw new Error(r.stderr);
    }).catch(() => undefined);
    await ctr(["containers", "rm", id]);
    // A client that died mid-Create (a ctr killed on a timeout) leaves containerd to clean up on
    // its own: the failed start's `shim delete` and unmount run a moment after our calls return.
    await eventually(async () => {
      const left = (await this.leftovers()).filter((l) => l.includes(id));
      if (left.length > 0) throw new Error(left.join("\n"));
    }, opts.timeoutMs ?? 10_000).catch(() => undefined);
    // What a killed ctr could not remove itself: its FIFOs for this container.
    for (const dir of ourFifoDirs(new Set([`${opts.namespace ?? this.namespace}/${id}`]), this.#startedAt))
      rmSync(dir, { recursive: true, force: true });
  }

  /** Stops and starts the daemon on the same root and state; shims and their tasks keep running. */
  async restart(): Promise<void> {
    await this.#terminate();
    await this.#launch();
  }

  /** The daemon only goes away (SIGTERM, or SIGKILL for a crash); shims keep running. up() brings it back. */
  async down(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    if (signal === "SIGKILL" && this.#running()) process.kill(this.#pid, "SIGKILL");
    await this.#terminate();
  }

  /** Starts the daemon again after down(), on the same root and state. */
  async up(): Promise<void> {
    await this.#launch();
  }

  /** Deletes every task and container, stops the daemon, then removes whatever it left on the host. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const fp = await this.#footprint();
    if (this.#running()) await deleteAllRecords((a, o) => this.ctr(a, o), fp);
    await this.#terminate();
    this.#finalLog = this.logText();
    footprintFromDisk(fp, this.#finalLog);
    await removeLeftovers(fp);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Human-readable list of what is left of this instance on the host; empty when all is clean.
   * One waiting spare per executable is not a leftover while containerd runs. A second can start
   * beside it (between an adoption and the next claim) and exits by itself once it sees the first
   * (at its next look, every 2 s): a spare beyond the first is looked at again until then.
   */
  async leftovers(): Promise<string[]> {
    const allowSpares = !this.#stopped && this.#running();
    let found = findLeftovers(await this.#footprint(), allowSpares);
    for (let tries = 0; allowSpares && tries < SURPLUS_SPARE_LOOKS && found.some(isSpareLeftover); tries++) {
      await sleep(100);
      found = findLeftovers(await this.#footprint(), allowSpares);
    }
    if (this.#stopped && this.#running()) found.unshift(`containerd pid ${this.#pid} still running`);
    if (!this.#stopped && this.#running()) found.unshift(...(await daemonRecords((a, o) => this.ctr(a, o))));
    return found;
  }

  logText(): string {
    try {
      return readFileSync(join(this.dir, "containerd.log"), "utf8");
    } catch {
      return this.#finalLog;
    }
  }

  async #launch(): Promise<void> {
    const log = openSync(join(this.dir, "containerd.log"), "a");
    // Its own session keeps terminal signals aimed at the test runner away from the daemon; the
    // daemon in turn starts each shim in its own process group, so they outlive a restart.
    const config = join(this.dir, "config.toml");
    // unshare and sh exec, so the pid is containerd's either way.
    const [file, args] = this.#cgroup2
      ? ([
          "unshare",
          ["-m", "sh", "-c", 'mount -t cgroup2 none /sys/fs/cgroup && exec containerd --config "$0"', config],
        ] as const)
      : (["containerd", ["--config", config]] as const);
    const child = spawn(file, args, {
      cwd: this.dir,
      detached: true,
      stdio: ["ignore", log, log],
      env: this.#env,
    });
    closeSync(log);
    child.unref();
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    this.#pid = child.pid ?? 0;
    const state: HarnessState = {
      pid: this.#pid,
      dir: this.dir,
      socket: this.socket,
      ttrpcSocket: this.ttrpcSocket,
      namespace: this.namespace,
      env: this.#env,
      cgroup2: this.#cgroup2,
      startedAt: this.#startedAt,
    };
    writeFileSync(join(this.dir, "harness.json"), `${JSON.stringify(state, null, 2)}\n`);
    const ready = await Promise.race([this.#waitReady(20_000), spawnError]);
    if (ready instanceof Error) throw new Error(`cannot start containerd: ${ready.message}`);
  }

  async #waitReady(timeoutMs: number): Promise<true> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Not #running(): until exec the child's cmdline is still node's.
      if (!isAlive(this.#pid)) throw new Error(`containerd exited during startup:\n${tail(this.logText())}`);
      if (existsSync(this.socket) && (await this.ctr(["version"], { timeoutMs: 5_000 })).code === 0) return true;
      if (Date.now() > deadline)
        throw new Error(`containerd not ready after ${timeoutMs} ms:\n${tail(this.logText())}`);
      await sleep(existsSync(this.socket) ? 50 : 10);
    }
  }

  /** Alive and still our daemon: after a takeover from harness.json the pid may have been reused. */
  #running(): boolean {
    return isAlive(this.#pid) && (readProc(this.#pid)?.argv.includes(join(this.dir, "config.toml")) ?? false);
  }

  async #terminate(): Promise<void> {
    if (!this.#running()) return;
    process.kill(this.#pid, "SIGTERM");
    if (await waitGone(this.#pid, 10_000)) return;
    try {
      process.kill(this.#pid, "SIGKILL");
    } catch {
      // It exited just now.
    }
    await waitGone(this.#pid, 5_000);
  }

  async #query(args: string[], namespace?: string): Promise<string[]> {
    return queryCtr((a, o) => this.ctr(a, o), args, namespace);
  }

  async #footprint(): Promise<Footprint> {
    const fp: Footprint = {
      dir: this.dir,
      socket: this.socket,
      namespaces: new Set([this.namespace]),
      ids: this.#seen,
      since: this.#startedAt,
    };
    for (const ns of this.#running() ? await this.#query(["namespaces", "ls", "-q"]) : []) {
      fp.namespaces.add(ns);
      for (const id of await this.#query(["containers", "ls", "-q"], ns)) this.#seen.add(`${ns}/${id}`);
    }
    footprintFromDisk(fp, this.logText());
    return fp;
  }
}

function tail(text: string): string {
  return text.split("\n").slice(-20).join("\n");
}
