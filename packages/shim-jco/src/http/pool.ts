import type { Live } from "./instances.ts";

export interface PoolOptions {
  /** Keep an instance for the next request instead of retiring it (opt-in). */
  reuse: boolean;
  /** Instances made ahead of requests, when the thread has nothing else to do. */
  size: number;
  /** Instances in use at once; more requests wait for one. */
  concurrency: number;
}

/**
 * Instances for one thread's requests. By default every request gets an instance nobody has used,
 * made ahead of time in idle turns of the event loop (setImmediate), so instantiation is not on a
 * request's path unless requests arrive faster than instances can be made. With `reuse`, an
 * instance that finished a request cleanly serves the next one.
 */
export class InstancePool {
  readonly #create: () => Live;
  readonly #opts: PoolOptions;
  #reuse: boolean;
  readonly #onError: (err: unknown) => void;
  readonly #schedule: (fn: () => void) => void;
  readonly #ready: Live[] = [];
  readonly #waiters: { resolve: (live: Live) => void; reject: (err: unknown) => void }[] = [];
  #active = 0;
  #refilling = false;
  #closed = false;

  constructor(
    create: () => Live,
    opts: PoolOptions,
    onError: (err: unknown) => void,
    schedule: (fn: () => void) => void = setImmediate,
  ) {
    this.#create = create;
    this.#opts = opts;
    this.#reuse = opts.reuse;
    this.#onError = onError;
    this.#schedule = schedule;
  }

  /** Instances in use. */
  get active(): number {
    return this.#active;
  }

  /** Instances made and waiting for a request. */
  get ready(): number {
    return this.#ready.length;
  }

  get reuse(): boolean {
    return this.#reuse;
  }

  /** From now on every request gets a fresh instance; the used ones waiting are retired. */
  stopReuse(): void {
    this.#reuse = false;
    for (const live of this.#ready.splice(0)) live.retire();
    this.fill();
  }

  /** Requests waiting for an instance slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(): Live | Promise<Live> {
    if (this.#active < this.#opts.concurrency) {
      this.#active++;
      try {
        return this.#take();
      } catch (err) {
        this.#active--;
        throw err;
      }
    }
    return new Promise<Live>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** `clean`: the request ended without a trap, so (with reuse) the instance may serve again. */
  release(live: Live, clean: boolean): void {
    if (this.#reuse && clean && !this.#closed) this.#ready.push(live);
    else live.retire();
    const waiter = this.#waiters.shift();
    if (waiter) {
      // The slot passes straight to the next request.
      try {
        waiter.resolve(this.#take());
      } catch (err) {
        this.#active--;
        waiter.reject(err);
      }
    } else {
      this.#active--;
    }
    this.fill();
  }

  /** Makes one instance now (at start: a component that cannot be instantiated fails there). */
  prime(): void {
    this.#ready.push(this.#create());
  }

  /** Makes instances ahead, one per idle turn, up to the pool size. */
  fill(): void {
    if (this.#refilling || this.#closed || this.#ready.length >= this.#opts.size) return;
    this.#refilling = true;
    this.#schedule(() => {
      this.#refilling = false;
      if (this.#closed || this.#ready.length >= this.#opts.size || this.#waiters.length > 0) return;
      try {
        this.#ready.push(this.#create());
      } catch (err) {
        this.#onError(err);
        return;
      }
      this.fill();
    });
  }

  close(): void {
    this.#closed = true;
    for (const live of this.#ready.splice(0)) live.retire();
  }

  #take(): Live {
    // Fresh instances are used oldest first; reused ones newest first (warmest).
    const live = this.#reuse ? this.#ready.pop() : this.#ready.shift();
    return live ?? this.#create();
  }
}
