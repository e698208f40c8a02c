import { createHash } from "node:crypto";
import { connect } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SANDBOX_ID_ANNOTATION, type Spec } from "../oci/spec.ts";

/** Fixed by containerd's shims (not under containerd's state dir): unix socket paths are short. */
export const SOCKET_DIR = "/run/containerd/s";

/** One daemon per pod: containers that share a sandbox id share a socket. */
export async function groupId(bundle: string, id: string): Promise<string> {
  try {
    const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as Spec;
    return spec.annotations?.[SANDBOX_ID_ANNOTATION] || id;
  } catch {
    return id;
  }
}

/** The same hash runc's shim uses, so the socket is unique per containerd, namespace and group. */
export function socketPath(address: string, namespace: string, group: string, dir = SOCKET_DIR): string {
  return join(dir, createHash("sha256").update(join(address, namespace, group)).digest("hex"));
}

/** True if a daemon answers on `path` (a connect that succeeds), false if the socket is dead or absent. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}
