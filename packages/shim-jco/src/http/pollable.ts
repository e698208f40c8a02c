import { io } from "@bytecodealliance/preview2-shim";

/**
 * wasi:io/poll for the HTTP server's thread. preview2-shim's pollables live in its I/O worker
 * and block this thread; these are plain objects on this thread's event loop, and `block` and
 * `poll` return promises, which JSPI turns into a suspended guest (the transpile marks them
 * async) while the thread serves other requests. preview2-shim's own pollables (files, stdin,
 * sockets) are still accepted and are checked on a short timer.
 */
type Wake = () => void;
type Cancel = () => void;

const REP = Symbol.for("cabiRep");
const P2Pollable = io.poll.Pollable as unknown as abstract new () => { ready(): boolean };
// Above any id preview2-shim's worker hands out (jco keys pollables by this), below jco's flag bit.
const REP_BASE = 2 ** 29;
let nextRep = REP_BASE;

export class Pollable {
  readonly #ready: () => boolean;
  readonly #subscribe: (wake: Wake) => Cancel;
  constructor(ready: () => boolean, subscribe: (wake: Wake) => Cancel) {
    this.#ready = ready;
    this.#subscribe = subscribe;
    (this as unknown as Record<symbol, number>)[REP] = nextRep;
    nextRep = nextRep + 1 >= 2 ** 30 ? REP_BASE : nextRep + 1;
  }
  ready(): boolean {
    return this.#ready();
  }
  block(): Promise<void> | undefined {
    if (this.#ready()) return undefined;
    return Promise.resolve(poll([this])).then(() => undefined);
  }
  /** Calls `wake` once when this may have become ready; returns how to stop waiting. */
  static subscribe(p: Pollable, wake: Wake): Cancel {
    return p.#subscribe(wake);
  }
}

// jco checks `instanceof Pollable` when the guest gets a pollable; preview2-shim's must pass too.
Object.defineProperty(Pollable, Symbol.hasInstance, {
  value: (x: unknown) =>
    x instanceof P2Pollable ||
    (typeof x === "object" && x !== null && Object.prototype.isPrototypeOf.call(Pollable.prototype, x)),
});

const isOurs = (p: unknown): p is Pollable =>
  typeof p === "object" && p !== null && Object.prototype.isPrototypeOf.call(Pollable.prototype, p);
const readyNow = (p: unknown) => (isOurs(p) ? p.ready() : (p as { ready(): boolean }).ready());

function subscribeAny(p: unknown, wake: Wake): Cancel {
  if (isOurs(p)) return Pollable.subscribe(p, wake);
  const timer = setInterval(() => {
    if ((p as { ready(): boolean }).ready()) wake();
  }, 2);
  return () => clearInterval(timer);
}

/** wasi:io/poll.poll: the indexes of the ready ones, waiting (as a promise) until there is one. */
export function poll(list: unknown[]): Uint32Array | Promise<Uint32Array> {
  if (list.length === 0) throw new Error("wasi:io/poll.poll: empty list");
  const ready: number[] = [];
  list.forEach((p, i) => readyNow(p) && ready.push(i));
  if (ready.length > 0) return Uint32Array.from(ready);
  return new Promise<void>((resolve) => {
    let done = false;
    const cancels: Cancel[] = [];
    const wake = () => {
      if (done) return;
      done = true;
      for (const cancel of cancels) cancel();
      resolve();
    };
    for (const p of list) {
      if (done) break;
      cancels.push(subscribeAny(p, wake));
    }
    if (done) for (const cancel of cancels) cancel();
  }).then(() => poll(list));
}

/** A pollable that is always ready. */
export const readyPollable = (): Pollable =>
  new Pollable(
    () => true,
    () => () => {},
  );

/** A pollable for a monotonic-clock instant (nanoseconds of process.hrtime). */
export function instantPollable(instant: bigint): Pollable {
  return new Pollable(
    () => process.hrtime.bigint() >= instant,
    (wake) => {
      const ms = Number(instant - process.hrtime.bigint()) / 1e6;
      const timer = setTimeout(wake, Math.max(0, Math.ceil(ms)));
      return () => clearTimeout(timer);
    },
  );
}

/** wasi:clocks/monotonic-clock with subscriptions on this thread's timers. */
export const monotonicClock = {
  now: (): bigint => process.hrtime.bigint(),
  resolution: (): bigint => 1n,
  subscribeInstant: (instant: bigint): Pollable => instantPollable(instant),
  subscribeDuration: (duration: bigint): Pollable => instantPollable(process.hrtime.bigint() + BigInt(duration)),
};

/** State that guests wait on (a body stream, a future): pollables of it wake when it changes. */
export class Signal {
  #waiters = new Set<Wake>();
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
  pollable(ready: () => boolean): Pollable {
    return new Pollable(ready, (wake) => {
      this.#waiters.add(wake);
      return () => this.#waiters.delete(wake);
    });
  }
  /** Resolves at the next change (or at once when `ready` already holds). */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => (ready() ? resolve() : this.#waiters.add(wake));
      this.#waiters.add(wake);
    });
  }
}
