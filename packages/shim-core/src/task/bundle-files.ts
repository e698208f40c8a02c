import { promises, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuncConfig } from "../runc/oci-runtime.ts";

// Apart from container.ts so that the `delete` binary, which only needs these, loads nothing else.

/** Bundle files the shim owns. `shim.json` lets the `delete` binary find the container without the daemon. */
export const bundleFiles = {
  state: "shim.json",
  runnerBundle: "wasm-runner",
  initPid: "init.pid",
  runcLog: "log.json",
  /** Left by the daemon's Delete once the container is gone: read before Node boots (native/entry/fast_delete.c). */
  deleted: "shim-deleted",
} as const;

/** What Create records in `shim.json`: how to reach runc and whether to unmount, without the daemon. */
export interface ShimState {
  runc: RuncConfig;
  mountedRootfs: boolean;
}

/**
 * Records `state` for the `delete` binary at Create (what Delete leaves is `shim-deleted`).
 * (`promises` is read at the call: `delete` itself does not load node:fs/promises.)
 */
export function writeShimState(bundle: string, state: ShimState): Promise<void> {
  return promises.writeFile(join(bundle, bundleFiles.state), JSON.stringify(state));
}

/** Reads what Create recorded, for the `delete` binary. */
export function readShimState(bundle: string): ShimState | undefined {
  try {
    return JSON.parse(readFileSync(join(bundle, bundleFiles.state), "utf8")) as ShimState;
  } catch {
    return undefined;
  }
}

/** The pid a pid file holds (runc's, or the shim's `init.pid`); 0 when it is missing or holds none. */
export function readPidFile(path: string): number {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** What `shim-deleted` tells the `delete` that containerd runs once the daemon has disconnected. */
export interface DeletedContainer {
  pid: number;
  /** runc's state directory for the container: still there, and `delete` boots Node to remove it. */
  runcState: string;
  /** The daemon's socket: there but refusing connections, and `delete` boots Node to remove it. */
  socket: string;
}

/**
 * Written after a Delete that removed the container from runc and unmounted its rootfs, so that
 * containerd's `delete` (native or Node's) has nothing left to clean. A line each; the C reader
 * takes nothing else.
 */
export function writeDeleted(bundle: string, c: DeletedContainer): Promise<void> {
  if ([c.runcState, c.socket].some((s) => s.includes("\n"))) return Promise.resolve();
  return promises.writeFile(join(bundle, bundleFiles.deleted), `v1\n${c.pid}\n${c.runcState}\n${c.socket}\n`);
}
