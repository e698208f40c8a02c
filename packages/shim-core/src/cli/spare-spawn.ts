import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { basename } from "node:path";
import type { Logger } from "../log.ts";
import { selfCommand } from "../sea/sea.ts";
import { SPARE_ACTION } from "./flags.ts";
import { removeDeadSocket, spareSocketPath } from "./socket.ts";
import { claimPath, claimSpare, CONTAINERD_PID_ENV, sparesEnabled } from "./spare-client.ts";

// Starting a spare daemon (spare.ts): what a daemon does a second after it serves, or as it exits.

/** Room in the spare's argv for the daemon's command line, which the adopted spare writes over it. */
const TITLE_ROOM = 1_024;

/**
 * Starts a spare of this executable for `address`'s containerd (pid `containerd`) in `dir`, unless
 * one waits or is booting.
 */
export async function spawnSpare(
  address: string,
  dir: string,
  containerd: string | undefined,
  log: Logger,
): Promise<void> {
  if (!address || !containerd || !sparesEnabled(process.env)) return;
  const control = spareSocketPath(dir, process.execPath, address);
  // A spare killed while it waited cannot remove its socket.
  await removeDeadSocket(control);
  if (existsSync(control) || !claimSpare(control)) return;
  const cmd = selfCommand(["-address", address, "-socket", control, SPARE_ACTION]);
  try {
    const argv0 = basename(process.execPath).padEnd(TITLE_ROOM);
    const env = { ...process.env, [CONTAINERD_PID_ENV]: containerd };
    const child = spawn(cmd.file, cmd.args, { argv0, cwd: "/", detached: true, env, stdio: "ignore" });
    child.unref();
    log.debug("started a spare daemon", { pid: child.pid, control });
  } catch (err) {
    rmSync(claimPath(control), { force: true });
    log.warn("no spare daemon", { error: (err as Error).message });
  }
}
