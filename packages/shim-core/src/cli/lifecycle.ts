import { writeSync } from "node:fs";
import type { tracedStart } from "../telemetry/start-span.ts";
import type { RuncModule } from "./delete.ts";
import { shimVersion } from "../sea/version.ts";
import type { ShimFlags } from "./flags.ts";

export function fail(err: unknown): never {
  // For `start`, containerd shows this text as the reason the shim failed.
  writeSync(2, `${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

/**
 * What `start` and `delete` seldom need, passed in so that the executable's boot script (boot.ts)
 * can run them without bundling it: the tracing SDK, when tracing is on, and runc's code, for a
 * container whose daemon died before runc deleted it.
 */
export interface LifecycleParts {
  loadTracedStart?: () => Promise<typeof tracedStart>;
  loadRunc: () => Promise<RuncModule>;
}

/**
 * containerd's `start` and `delete`, which it runs for every container; whether `flags` asked for
 * one of them. They need only the engine's name.
 */
export function runLifecycleAction(engine: string, flags: ShimFlags, parts: LifecycleParts): boolean {
  switch (flags.action) {
    case "start":
      import("./start.ts")
        .then((m) => {
          const run = () => m.start(flags);
          return parts.loadTracedStart
            ? parts.loadTracedStart().then((traced) => traced(flags, engine, shimVersion, run))
            : run();
        })
        .then(() => process.exit(0), fail);
      return true;
    case "delete":
      import("./delete.ts")
        .then((m) => m.deleteAction(flags, engine, parts.loadRunc))
        .then((bytes) => {
          writeSync(1, bytes);
          process.exit(0);
        }, fail);
      return true;
    default:
      return false;
  }
}
