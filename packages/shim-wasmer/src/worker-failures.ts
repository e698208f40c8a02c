/** What NodeWorkerAdapter hands its `onerror` when its worker fails: a DOM ErrorEvent's fields. */
interface WorkerErrorEvent {
  message: string;
  filename: string;
  lineno: number;
  colno: number;
}
type ErrorHandler = ((event: WorkerErrorEvent) => void) | null;

const listeners = new Set<(message: string) => void>();
/** The first failure: the SDK's pool holds a broken worker from then on, whose tasks never settle. */
let failure: string | undefined;

/**
 * The SDK learns that a worker failed (it threw while starting, or its thread exited) through the
 * worker's `onerror`, but a task it gave that worker never settles: a guest's wait() would hang
 * until the container is killed. This also tells whoever listens (onWorkerFailure).
 */
export function reportFailures<W extends { onerror: ErrorHandler }>(worker: W): W {
  let handler = worker.onerror;
  const report = (event: WorkerErrorEvent) => {
    handler?.(event);
    failure ??= event.message;
    for (const listener of listeners) listener(event.message);
  };
  Object.defineProperty(worker, "onerror", {
    configurable: true,
    get: () => report,
    set: (h: ErrorHandler) => {
      handler = h;
    },
  });
  return worker;
}

/**
 * Calls `listener` with the message of each SDK worker that fails, until the returned function is
 * called; at once if one already has (a worker fails while the SDK starts, before any run).
 */
export function onWorkerFailure(listener: (message: string) => void): () => void {
  if (failure !== undefined) listener(failure);
  listeners.add(listener);
  return () => listeners.delete(listener);
}
