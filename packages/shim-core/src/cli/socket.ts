import { constants, linkSync, lstatSync, openSync, readFileSync, unlinkSync } from "node:fs";
import type { Server } from "node:net";
import { dirname, join } from "node:path";
import { SANDBOX_ID_ANNOTATION, type Spec } from "../oci/spec.ts";
import { sha256Hex } from "./sha256.ts";

/**
 * node:net on first use: `delete` (every container's last boot of this executable) needs it only
 * when the daemon died and left its socket, and it costs a boot 2-3 ms.
 */
const net = () => process.getBuiltinModule("node:net");

/** Fixed by containerd's shims (not under containerd's state dir): unix socket paths are short. */
export const SOCKET_DIR = "/run/containerd/s";

/** One daemon per pod: containers that share a sandbox id share a socket. */
export async function groupId(bundle: string, id: string): Promise<string> {
  try {
    const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Spec;
    return spec.annotations?.[SANDBOX_ID_ANNOTATION] || id;
  } catch {
    return id;
  }
}

/** The same hash runc's shim uses, so the socket is unique per containerd, namespace and group. */
export function socketPath(address: string, namespace: string, group: string, dir = SOCKET_DIR): string {
  return join(dir, sha256Hex(join(address, namespace, group)));
}

/** True if a daemon answers on `path` (a connect that succeeds), false if the socket is dead or absent. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net().connect(path);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/**
 * Unlinks the socket at `path` when no daemon answers on it. A daemon killed with SIGKILL cannot
 * remove its own socket, and for a pod no later `start` of the same group would.
 */
export async function removeDeadSocket(path: string): Promise<boolean> {
  const before = inodeAt(path);
  if (before === undefined || (await socketAlive(path))) return false;
  // A `start` may have bound a new daemon here meanwhile; only the socket found dead goes.
  if (inodeAt(path) !== before) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = net().createServer();
    server.once("error", reject);
    server.listen({ path, backlog: 511 }, () => resolve(server));
  });
}

let scratchSeq = 0;

/**
 * Binds `path` unless a live socket is there (then undefined), and atomically: the socket is bound
 * under a name of its own and hard-linked into place, which fails if anything is there already.
 * Checking, unlinking a dead socket and binding in turn let two binders both win, the first at a
 * path the second had unlinked: it served a socket nobody could reach, titled as the pod's daemon,
 * for its idle limit (a native `start`'s own spare and Node's `start` racing for one pod). That own
 * name is also what libuv unlinks when the server closes, so closing never removes a socket that a
 * later binder put at `path`; whoever must free `path` unlinks it with unlinkIfSame(). Tools that
 * look for a daemon's listener by name find `<path>.<pid>.<n>` (ownName).
 */
export async function bindOrReuse(path: string): Promise<Server | undefined> {
  for (let attempt = 0; ; attempt++) {
    if (await socketAlive(path)) return undefined;
    const own = ownName(path);
    removeQuietly(own);
    const server = await listen(own);
    try {
      linkSync(own, path);
      return server;
    } catch (err) {
      server.close();
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 3) throw err;
      // Dead, or live since the look above: the next look tells which.
      await removeDeadSocket(path);
    } finally {
      removeQuietly(own);
    }
  }
}

/**
 * Where a binder of `path` binds first: beside it, named after it, so that `ss -xlp` and
 * /proc/net/unix still show which pod a daemon serves; a shorter name where that would not fit.
 */
function ownName(path: string): string {
  const suffix = `.${process.pid}.${++scratchSeq}`;
  return Buffer.byteLength(path + suffix) <= MAX_SOCKET_PATH ? path + suffix : join(dirname(path), `.b${suffix}`);
}

/** sun_path's 108 bytes, its terminating NUL included. */
const MAX_SOCKET_PATH = 107;

/** The inode at `path`, if anything is there. */
export function inodeAt(path: string): number | undefined {
  try {
    return lstatSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Unlinks `path` if it is still the socket bound there (inode `ino`), not one bound since. */
export function unlinkIfSame(path: string, ino: number | undefined): void {
  if (ino !== undefined && inodeAt(path) === ino) removeQuietly(path);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/** The bundle's `log` FIFO, which containerd copies into its own log: the daemon's stderr. */
export function openLog(bundle: string): number | "ignore" {
  try {
    return openSync(join(bundle, "log"), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return "ignore";
  }
}

/**
 * Where the spare daemon of this executable and this containerd waits (spare.ts): beside the pods'
 * sockets, one per binary and containerd, so another build or another containerd never adopts it.
 */
export function spareSocketPath(dir: string, executable: string, address: string): string {
  return join(dir, sha256Hex(join("spare", executable, address)));
}
