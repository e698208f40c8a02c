import { spawn } from "node:child_process";
import { closeSync, constants, openSync, writeFileSync, renameSync, unlinkSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fdLogger } from "../log.ts";
import { selfCommand } from "../sea/sea.ts";
import { EMPTY_INPUT, readStdin, startConfig, type StartConfig } from "./bootstrap.ts";
import type { ShimFlags } from "./flags.ts";
import { groupId, socketAlive, socketPath, SOCKET_DIR } from "./socket.ts";

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ path, backlog: 511 }, () => resolve(server));
  });
}

/** Binds the group's socket, or returns undefined if a live daemon already serves it. */
async function bindOrReuse(path: string): Promise<Server | undefined> {
  for (let attempt = 0; ; attempt++) {
    if (await socketAlive(path)) return undefined;
    try {
      unlinkSync(path);
    } catch {
      // no stale socket
    }
    try {
      return await listen(path);
    } catch (err) {
      // Another `start` of the same pod won the race: its daemon's socket is live now.
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 3) throw err;
    }
  }
}

function openLog(bundle: string): number | "ignore" {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return "ignore";
  }
}

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
  const input = stdin.length === 0 ? EMPTY_INPUT : (await import("./start-input.ts")).parseStartInput(stdin, flags);
  const config = startConfig(flags, process.env, input);
  const bundle = flags.bundle || process.cwd();
  const dir = config.socketDir ?? SOCKET_DIR;
  const path = socketPath(config.address, config.namespace, await groupId(bundle, config.id), dir);
  if (path.length > MAX_SOCKET_PATH)
    throw new Error(
      `the shim socket ${path} would be longer than ${MAX_SOCKET_PATH} bytes: choose a shorter socket_dir`,
    );
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const server = await bindOrReuse(path);
  if (server) spawnDaemon(server, path, bundle, config);
  const address = `unix://${path}`;
  writeFileSync(join(bundle, ".address"), address);
  renameSync(join(bundle, ".address"), join(bundle, "address"));
  process.stdout.write(address);
}

function spawnDaemon(server: Server, path: string, bundle: string, config: StartConfig): void {
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const log = openLog(bundle);
  const daemonArgs = [
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
  const cmd = selfCommand(daemonArgs);
  // The daemon publishes events to TTRPC_ADDRESS, which 2.3 also sends in the parameters.
  const env = config.ttrpcAddress ? { ...process.env, TTRPC_ADDRESS: config.ttrpcAddress } : process.env;
  const child = spawn(cmd.file, cmd.args, { cwd: bundle, detached: true, env, stdio: ["ignore", "ignore", log, fd] });
  child.unref();
  if (typeof log === "number") {
    const input = config.input;
    const from =
      input.kind === "bootstrap"
        ? `BootstrapParams from containerd ${input.params.containerdVersion}`
        : input.kind === "options"
          ? "runtime options"
          : "nothing";
    fdLogger(log, config.debug ? "debug" : "info").debug("spawned daemon", {
      id: config.id,
      pid: child.pid,
      stdin: from,
      options: input.kind === "empty" ? "" : (input.options?.typeUrl ?? ""),
      socket: path,
      // Not performance.now(): its first use loads perf_hooks, a few ms of every container's start.
      ms: Math.round(process.uptime() * 1000),
    });
    closeSync(log);
  }
  // Not server.close(): libuv unlinks a closed listener's path, which the daemon now serves.
  server.unref();
}
