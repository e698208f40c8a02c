import { native } from "../sea/native.ts";

/**
 * The daemon as the child subreaper of what runc leaves: `runc create` (and, for a terminal,
 * `runc run -d`/`exec -d`: runc's console socket needs a detached runc) exits once the container's
 * process exists, the kernel hands that process to us, and we collect its exit status on SIGCHLD,
 * as containerd's runc shim does. No runc process has to wait beside each task (`runc run` did).
 * Only the pids registered here are reaped, one by one: libuv reaps its own children by pid, and
 * a waitpid(-1) would take their statuses from it.
 */
const waiting = new Map<number, (status: number) => void>();
let state: "unset" | "on" | "unavailable" = "unset";

/** Makes this process a subreaper, once; false when the native helper cannot. Call it before starting runc. */
export function becomeSubreaper(): boolean {
  if (state === "unset") {
    try {
      native().setChildSubreaper();
      process.on("SIGCHLD", sweep);
      state = "on";
    } catch {
      state = "unavailable";
    }
  }
  return state === "on";
}

/** Calls `done` with `pid`'s exit status (its code, or 128+signal) once it has exited; `pid` must be our child. */
export function onExit(pid: number, done: (status: number) => void): void {
  waiting.set(pid, done);
  // It may have exited before it was registered: its zombie waits for us.
  sweep();
}

function sweep(): void {
  for (const [pid, done] of waiting) {
    let status: number;
    try {
      status = native().reap(pid);
    } catch {
      continue;
    }
    if (status < 0) continue;
    waiting.delete(pid);
    done(status);
  }
}
