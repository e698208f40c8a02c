/**
 * Errors that cross the ttrpc boundary. Inner layers throw these; the ttrpc server converts them to a
 * google.rpc.Status exactly once (toStatus). Messages end with containerd's class text
 * (": not found"), which containerd strips when it maps the code back to an errdefs class.
 */

/** gRPC status codes used on the wire. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const suffix: Partial<Record<Code, string>> = {
  [Code.NOT_FOUND]: "not found",
  [Code.ALREADY_EXISTS]: "already exists",
  [Code.INVALID_ARGUMENT]: "invalid argument",
  [Code.FAILED_PRECONDITION]: "failed precondition",
  [Code.UNIMPLEMENTED]: "not implemented",
  [Code.UNAVAILABLE]: "unavailable",
};

export class ShimError extends Error {
  readonly code: Code;
  /** The message without the class text, for wrapping into another error. */
  readonly detail: string;
  constructor(code: Code, message: string) {
    const tail = suffix[code];
    const detail = tail && message.endsWith(`: ${tail}`) ? message.slice(0, -tail.length - 2) : message;
    super(tail ? `${detail}: ${tail}` : detail);
    this.name = "ShimError";
    this.code = code;
    this.detail = detail;
  }
}

export const notFound = (what: string) => new ShimError(Code.NOT_FOUND, what);
export const alreadyExists = (what: string) => new ShimError(Code.ALREADY_EXISTS, what);
export const invalidArgument = (what: string) => new ShimError(Code.INVALID_ARGUMENT, what);
export const failedPrecondition = (what: string) => new ShimError(Code.FAILED_PRECONDITION, what);
export const unimplemented = (what: string) => new ShimError(Code.UNIMPLEMENTED, what);
export const unavailable = (what: string) => new ShimError(Code.UNAVAILABLE, what);

/**
 * A system call's failure (an errno code such as ENOSPC or EIO) is the host's trouble, not a bad
 * request: it goes out as UNKNOWN, like any unexpected error, and never as INVALID_ARGUMENT.
 */
export function hostFailure(err: unknown): ShimError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code)
    ? new ShimError(Code.UNKNOWN, (err as Error).message)
    : undefined;
}

export function isShimError(err: unknown, code?: Code): err is ShimError {
  return err instanceof ShimError && (code === undefined || err.code === code);
}

/** The one place an error becomes a wire status. Anything that is not a ShimError is UNKNOWN. */
export function toStatus(err: unknown): { code: Code; message: string } {
  if (err instanceof ShimError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: Code.UNKNOWN, message };
}
