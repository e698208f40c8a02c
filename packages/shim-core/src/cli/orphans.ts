import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { TaskService } from "../task/service.ts";

/** How long a daemon with no container and no client waits before it exits; the env var is for tests. */
export const IDLE_EXIT_ENV = "WASM_SHIM_IDLE_EXIT_MS";
const defaultIdleMs = 30_000;
/**
 * Once containerd has been connected and has let go, with nothing left here, it is not coming back:
 * a client that dies mid-Create (a killed ctr) leaves containerd to run `delete` and drop the
 * connection without a Shutdown. The long wait is only for the time between `start` and connect.
 */
const afterClientMs = 2_000;

export interface OrphanWatch {
  service: TaskService;
  /** Open client connections (containerd keeps one to every daemon it knows). */
  connections: () => number;
  /** Connections ever accepted: a client may come and go between two looks. */
  accepted: () => number;
  log: Logger;
  /** Ends the daemon the way Shutdown does. */
  exit: () => void;
  idleMs?: number;
  /** The wait once a client has come and gone. */
  afterClientMs?: number;
  /**
   * The bundle `start` ran in. When containerd removes it before ever connecting (a client killed
   * between `start` and Create), it has run `delete` and will not come: the short wait applies.
   */
  bundle?: string;
}

export function idleMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env[IDLE_EXIT_ENV]);
  return Number.isFinite(ms) && ms > 0 ? ms : defaultIdleMs;
}

/**
 * Ends what containerd lost track of. When containerd restarts while a Create is still running
 * here, it may take this daemon for dead: it runs `delete` for the container and removes the
 * bundle, and it never sends this daemon Shutdown. So a container whose bundle is gone is
 * forgotten, and a daemon left with no container, no Create under way and no client for `idleMs`
 * exits. In normal life neither happens: containerd connects right after `start` and keeps the
 * connection while any container exists.
 */
export function watchOrphans(w: OrphanWatch): NodeJS.Timeout {
  const firstLimit = w.idleMs ?? idleMs();
  const laterLimit = Math.min(firstLimit, w.afterClientMs ?? afterClientMs);
  let idleSince: number | undefined;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const c of [...w.service.containers.values()]) {
        if (existsSync(join(c.bundle, "config.json"))) continue;
        w.log.warn("bundle removed by containerd: forgetting the container", { id: c.id });
        await w.service
          .forget(c.id)
          .catch((err: unknown) =>
            w.log.warn("cannot clean up a forgotten container", { id: c.id, error: (err as Error).message }),
          );
      }
      const clients = w.connections();
      const abandoned = w.bundle !== undefined && !existsSync(join(w.bundle, "config.json"));
      const limit = w.accepted() > 0 || abandoned ? laterLimit : firstLimit;
      const idle = w.service.containers.size === 0 && w.service.creating.size === 0 && clients === 0;
      idleSince = idle ? (idleSince ?? Date.now()) : undefined;
      if (idleSince !== undefined && Date.now() - idleSince >= limit) {
        w.log.info("no container and no client: exiting", { idleMs: limit });
        w.exit();
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(100, Math.min(5_000, laterLimit / 3)));
  timer.unref();
  return timer;
}
