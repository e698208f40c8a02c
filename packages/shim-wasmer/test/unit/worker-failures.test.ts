import { describe, expect, it, vi } from "vitest";
import { onWorkerFailure, reportFailures } from "../../src/worker-failures.ts";

const event = (message: string) => ({ message, filename: "", lineno: 0, colno: 0 });

describe("an SDK worker that fails", () => {
  it("reaches the SDK's handler and the listeners, and every later listener at once", () => {
    const worker = reportFailures({ onerror: null as ((e: ReturnType<typeof event>) => void) | null });
    const sdk = vi.fn();
    worker.onerror = sdk; // what the SDK does once the worker is made
    const listener = vi.fn();
    const stop = onWorkerFailure(listener);
    worker.onerror?.(event("ReferenceError: x"));
    expect(sdk).toHaveBeenCalledWith(event("ReferenceError: x"));
    expect(listener).toHaveBeenCalledWith("ReferenceError: x");
    stop();
    worker.onerror?.(event("again"));
    expect(listener).toHaveBeenCalledTimes(1);
    // The SDK's pool keeps the broken worker: a later run hears of it before it waits on it.
    const later = vi.fn();
    onWorkerFailure(later)();
    expect(later).toHaveBeenCalledWith("ReferenceError: x");
  });
});
