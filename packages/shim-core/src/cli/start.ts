import { spawn } from "node:child_process";
import { closeSync, constants, openSync, writeFileSync, renameSync, unlinkSync, mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { fdLogger } from "../log.ts";
import { selfCommand } from "../runtime/sea.ts";
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

/**
 * `start`: print the address of the daemon serving this container's group, starting one if needed.
 * The socket is bound here and inherited by the daemon as fd 3, so it accepts containerd's dial
 * before the daemon has even loaded; stdout carries only the address (containerd reads stdout and
 * stderr as one pipe), and the daemon holds neither.
 */
export async function start(flags: ShimFlags): Promise<void> {
  const bundle = flags.bundle || process.cwd();
  const path = socketPath(flags.address, flags.namespace, await groupId(bundle, flags.id));
  mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o711 });
  const server = await bindOrReuse(path);
  if (server) {
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const log = openLog(bundle);
    const daemonArgs = ["-namespace", flags.namespace, "-id", flags.id, "-address", flags.address, "-socket", path, ...(flags.debug ? ["-debug"] : []), "serve"];
    const cmd = selfCommand(daemonArgs);
    const child = spawn(cmd.file, cmd.args, { cwd: bundle, detached: true, stdio: ["ignore", "ignore", log, fd] });
    child.unref();
    if (typeof log === "number") fdLogger(log, flags.debug ? "debug" : "info").debug("spawned daemon", { id: flags.id, pid: child.pid, ms: Math.round(performance.now()) });
    if (typeof log === "number") closeSync(log);
    // Not server.close(): libuv unlinks a closed listener's path, which the daemon now serves.
    server.unref();
  }
  const address = `unix://${path}`;
  writeFileSync(join(bundle, ".address"), address);
  renameSync(join(bundle, ".address"), join(bundle, "address"));
  process.stdout.write(address);
}
