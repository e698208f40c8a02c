import { closeSync, writeFileSync, renameSync, mkdirSync } from "node:fs";
import type { Server } from "node:net";
import { getPriority } from "node:os";
import { dirname, join } from "node:path";
import { fdLogger } from "../log.ts";
import { selfCommand } from "../sea/sea.ts";
import { EMPTY_INPUT, readStdin, startConfig, type StartConfig } from "./bootstrap.ts";
import type { ShimFlags } from "./flags.ts";
import { bindOrReuse, groupId, openLog, socketAlive, socketPath, SOCKET_DIR, spareSocketPath } from "./socket.ts";
import {
  adoptSpare,
  CONTAINERD_PID_ENV,
  spareReady,
  sparesEnabled,
  type SpareAnswer,
  type SpareRequest,
} from "./spare-client.ts";

/** The longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * `start`: print the address of the daemon serving this container's group, starting one if needed.
 * The socket is bound here and inherited by the daemon as fd 3, so it accepts containerd's dial
 * before the daemon has even loaded; stdout carries only the address (containerd reads stdout and
 * stderr as one pipe), and the daemon holds neither. The plain `unix://` address is what every
 * containerd from 1.6 to 2.3+ accepts (2.3 tries a BootstrapResult first, then falls back to it).
 */
export async function start(flags: ShimFlags, stdin: Uint8Array = readStdin()): Promise<void> {
  const plan = await planStart(flags, process.env, stdin, process.cwd(), process.ppid);
  const spare = sparesEnabled(plan.env) && !(await socketAlive(plan.path)) ? await askSpare(plan) : undefined;
  if (!spare || !("pid" in spare)) {
    const server = await bindOrReuse(plan.path);
    if (server) spawnDaemon(server, plan, spare);
  }
  process.stdout.write(writeAddress(plan));
}

/** What a `start` works out before it acts: here, or in a spare asked by the native entry (spare-start.ts). */
export interface StartPlan {
  config: StartConfig;
  bundle: string;
  /** The pod's socket. */
  path: string;
  /** The daemon's environment. */
  env: NodeJS.ProcessEnv;
  /** The daemon's command line. */
  argv: string[];
}

export async function planStart(
  flags: ShimFlags,
  env: NodeJS.ProcessEnv,
  stdin: Uint8Array,
  cwd: string,
  containerdPid: number,
): Promise<StartPlan> {
  const input = stdin.length === 0 ? EMPTY_INPUT : (await import("./start-input.ts")).parseStartInput(stdin, flags);
  const config = startConfig(flags, env, input);
  const bundle = flags.bundle || cwd;
  const dir = config.socketDir ?? SOCKET_DIR;
  const path = socketPath(config.address, config.namespace, await groupId(bundle, config.id), dir);
  if (path.length > MAX_SOCKET_PATH)
    throw new Error(
      `the shim socket ${path} would be longer than ${MAX_SOCKET_PATH} bytes: choose a shorter socket_dir`,
    );
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  return { config, bundle, path, env: daemonEnv(config, env, containerdPid), argv: daemonArgs(path, bundle, config) };
}

/** What a spare is sent to become the daemon of `plan`, at `start`'s `priority`. */
export function adoption(plan: StartPlan, priority: number): SpareRequest {
  const env = Object.fromEntries(Object.entries(plan.env).filter((e): e is [string, string] => e[1] !== undefined));
  return { argv: plan.argv, env, priority };
}

/** Records the pod's address in the bundle (containerd 1.6/1.7 reconnect through it after a restart), and returns it. */
export function writeAddress(plan: StartPlan): string {
  const address = `unix://${plan.path}`;
  writeFileSync(join(plan.bundle, ".address"), address);
  renameSync(join(plan.bundle, ".address"), join(plan.bundle, "address"));
  return address;
}

function daemonEnv(config: StartConfig, startEnv: NodeJS.ProcessEnv, containerdPid: number): NodeJS.ProcessEnv {
  // The daemon publishes events to TTRPC_ADDRESS, which 2.3 also sends in the parameters.
  const env: NodeJS.ProcessEnv = { ...startEnv };
  if (config.ttrpcAddress) env.TTRPC_ADDRESS = config.ttrpcAddress;
  if (sparesEnabled(env)) env[CONTAINERD_PID_ENV] = String(containerdPid);
  return env;
}

function daemonArgs(path: string, bundle: string, config: StartConfig): string[] {
  return [
    "-namespace",
    config.namespace,
    "-id",
    config.id,
    "-address",
    config.address,
    "-socket",
    path,
    // The daemon's cwd is the bundle too, but once containerd removes it process.cwd() throws.
    "-bundle",
    bundle,
    ...(config.debug ? ["-debug"] : []),
    "serve",
  ];
}

/** A spare daemon (spare.ts) of this executable and containerd, if one waits, becomes this pod's. */
async function askSpare(plan: StartPlan): Promise<SpareAnswer> {
  const { config, bundle } = plan;
  const control = spareSocketPath(dirname(plan.path), process.execPath, config.address);
  await spareReady(control);
  const answer = await adoptSpare(control, adoption(plan, getPriority()));
  if ("pid" in answer && config.debug) logStart(openLog(bundle), config, "adopted a spare daemon", { pid: answer.pid });
  return answer;
}

function spawnDaemon(server: Server, plan: StartPlan, spare: SpareAnswer | undefined): void {
  // Loaded here: with a spare waiting (the usual case) `start` spawns nothing.
  const { spawn } = process.getBuiltinModule("node:child_process");
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const log = openLog(plan.bundle);
  const cmd = selfCommand(plan.argv);
  const child = spawn(cmd.file, cmd.args, {
    cwd: plan.bundle,
    detached: true,
    env: plan.env,
    stdio: ["ignore", "ignore", log, fd],
  });
  child.unref();
  logStart(log, plan.config, "spawned daemon", {
    pid: child.pid,
    socket: plan.path,
    ...(spare && "refused" in spare ? { spare: spare.refused } : {}),
  });
  // Not closed: this process exits now, and the daemon serves its own copy of the socket.
  server.unref();
}

/**
 * One debug line in containerd's log for each `start`, written to the bundle's log FIFO, which it
 * closes. `ms` is this process's age: a spare answering the native entry (spare.ts) has none to give.
 */
export function logStart(
  log: number | "ignore",
  config: StartConfig,
  msg: string,
  fields: Record<string, unknown>,
  ms = true,
): void {
  if (log === "ignore") return;
  if (!config.debug) return closeSync(log);
  const input = config.input;
  const from =
    input.kind === "bootstrap"
      ? `BootstrapParams from containerd ${input.params.containerdVersion}`
      : input.kind === "options"
        ? "runtime options"
        : "nothing";
  fdLogger(log, "debug").debug(msg, {
    id: config.id,
    ...fields,
    stdin: from,
    options: input.kind === "empty" ? "" : (input.options?.typeUrl ?? ""),
    // Not performance.now(): its first use loads perf_hooks, a few ms of every container's start.
    ...(ms ? { ms: Math.round(process.uptime() * 1000) } : { native: true }),
  });
  closeSync(log);
}
