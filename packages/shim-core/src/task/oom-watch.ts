import { oomKills } from "./oom.ts";

/**
 * Counts the OOM kills in a running task's memory cgroup (v1 memory.oom_control, v2
 * memory.events) and reports each new one, so that a process the kernel kills while the
 * container goes on still raises TaskOOM, as with runc's shim. runc's shim waits on an eventfd
 * (v1) or inotify (v2); the counter is the same, read once a second here.
 */
export class OomWatch {
  /** Kills already reported. */
  seen = 0;
  readonly #dir: string | undefined;
  readonly #onKill: () => void;
  readonly #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> = Promise.resolve();

  constructor(memoryDir: string | undefined, onKill: () => void, intervalMs = 1000) {
    this.#dir = memoryDir;
    this.#onKill = onKill;
    // A daemon with nothing else to do must still be able to exit.
    this.#timer = memoryDir === undefined ? undefined : setInterval(() => void this.check(), intervalMs).unref();
  }

  /** One look at the counter; reports at most once however many kills it finds. Looks do not overlap. */
  check(): Promise<void> {
    this.#checking = this.#checking.then(async () => {
      const count = await oomKills(this.#dir);
      if (count <= this.seen) return;
      this.seen = count;
      this.#onKill();
    });
    return this.#checking;
  }

  /** Stops watching once the look under way (if any) is done: after this, nothing more is reported. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checking;
  }
}
