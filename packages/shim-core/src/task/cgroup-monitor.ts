import type { Any } from "@bufbuild/protobuf/wkt";
import { notFound } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { OciRuntime } from "../runc/oci-runtime.ts";
import { memoryCgroup } from "./oom.ts";
import { OomWatch } from "./oom-watch.ts";
import { taskMetrics } from "./stats.ts";

/**
 * What the shim keeps an eye on in each task's cgroups: OOM kills while it runs, and the final
 * metrics, read once its process has exited and before runc removes the cgroup. containerd 2.3's
 * CRI asks Stats for those right after Wait to decide OOMKilled, until Delete.
 */
export class CgroupMonitor {
  readonly #watches = new Map<string, OomWatch>();
  readonly #final = new Map<string, Any>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** From Start on: `onOom` for every new OOM kill in the task's memory cgroup. */
  async started(runtime: OciRuntime, id: string, onOom: () => void): Promise<void> {
    const memory = memoryCgroup(await runtime.cgroupPaths(id));
    void this.#watches.get(id)?.stop();
    this.#watches.set(id, new OomWatch(memory, onOom));
  }

  /** Stops watching and reads the final metrics; true if the kernel OOM-killed something not yet reported. */
  async exited(runtime: OciRuntime, id: string): Promise<boolean> {
    const watch = this.#watches.get(id);
    this.#watches.delete(id);
    await watch?.stop();
    const final = await taskMetrics(runtime, id, false).catch((err: Error) =>
      this.#log.warn("cannot read the final metrics", { id, error: err.message }),
    );
    if (!final) return false;
    this.#final.set(id, final.any);
    return final.oomKills > (watch?.seen ?? 0);
  }

  /** Stats: read now while the task runs; once it has exited, what was read at the exit. */
  async stats(runtime: OciRuntime, id: string, running: boolean): Promise<Any> {
    const final = this.#final.get(id);
    if (final && !running) return final;
    if (!running) throw notFound(`task ${id} is not running`);
    const metrics = await taskMetrics(runtime, id, true);
    if (!metrics) throw notFound(`task ${id} has no cgroup`);
    return metrics.any;
  }

  forget(id: string): void {
    void this.#watches.get(id)?.stop();
    this.#watches.delete(id);
    this.#final.delete(id);
  }
}
