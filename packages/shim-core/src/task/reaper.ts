import { constants } from "node:os";
import { native } from "../sea/native.ts";

/** How a reaped process ended, as child_process reports it. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const waiting = new Map<number, (ended: Ended) => void>();
let installed = false;

/**
 * A container process that `runc run -d`/`runc exec -d` left behind (a terminal needs runc's
 * console socket, which only a detached runc uses) is re-parented to the nearest subreaper: the
 * daemon, once `adopt` has made it one, so only the daemon can read its exit status. libuv reaps
 * only the children it spawned, by pid, so the two never take each other's.
 */
export function adopt(): void {
  if (installed) return;
  native().setSubreaper();
  process.on("SIGCHLD", reapWaiting);
  installed = true;
}

/** Resolves when `pid`, a child of this process since `adopt` (called before it was started), has ended. */
export function reaped(pid: number): Promise<Ended> {
  return new Promise((resolve) => {
    waiting.set(pid, resolve);
    // It may have ended before anybody listened: its SIGCHLD is gone, its zombie is not.
    reapWaiting();
  });
}

function reapWaiting(): void {
  for (const [pid, resolve] of waiting) {
    let status: number | undefined;
    try {
      status = native().reap(pid);
    } catch {
      // ECHILD: not ours (never was, or reaped already): report it as killed rather than wait for ever.
      status = 9;
    }
    if (status === undefined) continue;
    waiting.delete(pid);
    resolve(decode(status));
  }
}

/** A raw wait status: WIFEXITED → its code, WIFSIGNALED → its signal. */
export function decode(status: number): Ended {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] as NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code: 128 + signal, signal: null };
}
