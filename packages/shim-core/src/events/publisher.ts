/**
 * Forwards task events to containerd (Events.Forward on TTRPC_ADDRESS).
 * containerd handles the requests of a connection concurrently, so two Forwards in flight could be
 * applied out of order: exactly one is sent at a time, and a failing event holds back the later
 * ones (create must never be seen after start).
 */
import { timestampFromDate } from "../wire/well-known.ts";
import { Code, ShimError } from "../errors.ts";
import { Forwarder } from "./forwarder.ts";
import type { EnvelopeFields } from "./forwarder.ts";
import type { EventSink, PackedEvent } from "./sink.ts";

export interface EventPublisherOptions {
  /** Bare socket path or unix://path. */
  ttrpcAddress: string;
  namespace: string;
  log?: (msg: string) => void;
  /** Backoff after the nth failure is n × this (runc: 1 s). */
  retryDelayMs?: number;
  /** Per-Forward deadline (runc: 5 s). */
  callTimeoutMs?: number;
  /** Attempts before an event is dropped (runc: 5). */
  maxAttempts?: number;
}

type Queued = EnvelopeFields & { attempts: number };

export class EventPublisher implements EventSink {
  readonly #forwarder: Forwarder;
  readonly #log: (msg: string) => void;
  readonly #retryDelayMs: number;
  readonly #maxAttempts: number;
  readonly #queue: Queued[] = [];
  readonly #drained: Array<() => void> = [];
  #pump: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(opts: EventPublisherOptions) {
    this.#forwarder = new Forwarder(opts.ttrpcAddress, opts.namespace, opts.callTimeoutMs ?? 5000);
    this.#log = opts.log ?? (() => {});
    this.#retryDelayMs = opts.retryDelayMs ?? 1000;
    this.#maxAttempts = opts.maxAttempts ?? 5;
  }

  publish(topic: string, event: PackedEvent): void {
    if (this.#closed) {
      this.#log(`events: publisher closed, dropping ${topic}`);
      return;
    }
    // Stamped now, not when sent: containerd rejects a zero timestamp, and a retried event keeps its time.
    this.#queue.push({ topic, event, timestamp: timestampFromDate(new Date()), attempts: 0 });
    this.#pump ??= this.#run();
  }

  /** Resolves once every published event was delivered or dropped; rejects after timeoutMs. */
  flush(timeoutMs: number): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#drained.splice(this.#drained.indexOf(done), 1);
        const msg = `events: ${this.#queue.length} still queued after ${timeoutMs} ms`;
        reject(new ShimError(Code.DEADLINE_EXCEEDED, msg));
      }, timeoutMs);
      this.#drained.push(done);
    });
  }

  /** Stops at once; whatever is still queued is dropped (call flush first to deliver it). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length > 0) this.#log(`events: closing, dropping ${this.#queue.length} queued event(s)`);
    this.#queue.length = 0;
    this.#wake?.();
    this.#forwarder.close();
    await this.#pump;
    this.#notifyDrained();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const item = this.#queue[0];
      if (item === undefined) break;
      try {
        await this.#forwarder.forward(item);
        this.#queue.shift();
      } catch (err) {
        if (this.#closed) break;
        item.attempts += 1;
        const why = err instanceof Error ? err.message : String(err);
        if (item.attempts >= this.#maxAttempts) {
          this.#queue.shift();
          this.#log(`events: dropping ${item.topic} after ${item.attempts} failed attempts: ${why}`);
          continue;
        }
        this.#log(`events: forward ${item.topic} failed (attempt ${item.attempts}): ${why}`);
        await this.#sleep(item.attempts * this.#retryDelayMs);
      }
    }
    // Cleared before flush() callers resume, so an event they publish next starts a new pump.
    this.#pump = undefined;
    this.#notifyDrained();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, ms);
      function wake() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wake;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  #notifyDrained(): void {
    if (this.#queue.length > 0) return;
    for (const done of this.#drained.splice(0)) done();
  }
}
