/**
 * The real shim daemon, started as containerd starts it: `<shim> … start` in a bundle directory
 * binds the socket, spawns the daemon (`… serve`) and exits. An events endpoint stands in for
 * containerd's. By default it all runs in a private mount namespace (`unshare -m`) as a second
 * wall: the shim must refuse hostile mounts by itself, and the fuzzer checks that it did, but a
 * bug found that way should not remount the fuzzing host.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Events } from "@wasm-shims/shim-core/src/gen/wire/containerd/events/forward.ts";
import { isAlive, listProcs } from "@wasm-shims/test-lab/procfs.ts";
import { TtrpcServer } from "@wasm-shims/shim-core/src/ttrpc/server.ts";

export interface DaemonOptions {
  binary: string;
  dir: string;
  namespace: string;
  /** Default true; false runs the daemon in the host's mount namespace, exactly as containerd would. */
  unshare?: boolean;
}

export interface Daemon {
  pid: number;
  socket: string;
  logFile: string;
  /** Events the daemon forwarded (TaskCreate, TaskExit, …). */
  events: () => number;
  alive: () => boolean;
  /** Waits until the daemon is gone; true if it went within `ms`. */
  gone: (ms: number) => Promise<boolean>;
  /** Its log lines that say something went wrong inside it rather than with a request. */
  internalErrors: () => string[];
  kill: () => Promise<void>;
  closeEvents: () => Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const eventsSocket = join(opts.dir, "events.sock");
  // `start` hands the daemon `<bundle>/log` as stderr (a FIFO under containerd; a file here).
  const logFile = join(opts.dir, "log");
  writeFileSync(logFile, "");
  let events = 0;
  const sink = new TtrpcServer();
  sink.registerService("containerd.services.events.ttrpc.v1.Events", Events, {
    forward: async () => {
      events += 1;
      return {};
    },
  });
  await sink.listen(eventsSocket);
  const args = [
    "-namespace",
    opts.namespace,
    "-id",
    "fuzz",
    "-address",
    join(opts.dir, "containerd.sock"),
    "-debug",
    "start",
  ];
  const [file, argv] =
    opts.unshare === false
      ? [opts.binary, args]
      : ["unshare", ["--mount", "--propagation", "private", "--", opts.binary, ...args]];
  const r = spawnSync(file, argv, { cwd: opts.dir, encoding: "utf8", timeout: 60_000, env: daemonEnv(eventsSocket) });
  if (r.status !== 0) throw new Error(`${opts.binary} start failed (${r.status}): ${r.stdout}${r.stderr}`);
  const socket = r.stdout.replace(/^unix:\/\//, "");
  const daemon = listProcs().find((p) => p.argv.includes("serve") && p.argv[p.argv.indexOf("-socket") + 1] === socket);
  if (!daemon) throw new Error(`no daemon serves ${socket}`);
  const pid = daemon.pid;
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (isAlive(pid)) {
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
    return true;
  };
  return {
    pid,
    socket,
    logFile,
    events: () => events,
    alive: () => isAlive(pid),
    gone,
    internalErrors: () => internalErrors(readFileSync(logFile, "utf8")),
    kill: async () => {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
      await gone(5000);
      try {
        unlinkSync(socket);
      } catch {
        // It removed its socket itself, after Shutdown.
      }
    },
    closeEvents: () => sink.close(),
  };
}

function daemonEnv(eventsSocket: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    TTRPC_ADDRESS: `unix://${eventsSocket}`,
  };
  // For looking into the daemon, e.g. FUZZ_NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2.
  if (process.env.FUZZ_NODE_OPTIONS) env.NODE_OPTIONS = process.env.FUZZ_NODE_OPTIONS;
  // And glibc's allocator tunables (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, …).
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith("MALLOC_")) env[k] = v;
  return env;
}

/** Lines of the shim's log that mean a bug in the shim, not a refused request. */
export function internalErrors(log: string): string[] {
  return log.split("\n").filter((l) => /uncaught exception|unhandled rejection|level=error/.test(l));
}
