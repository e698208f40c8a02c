/**
 * Ids become file names (exec-<id>.json in the bundle), runc arguments and cgroup paths, so they
 * follow containerd's own rule for identifiers, which every id it sends already meets.
 */
import { invalidArgument } from "../errors.ts";

const identifier = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
export const MAX_IDENTIFIER_LENGTH = 76;

export function checkIdentifier(id: string, what: string): void {
  if (id.length === 0) throw invalidArgument(`${what} must not be empty`);
  if (id.length > MAX_IDENTIFIER_LENGTH)
    throw invalidArgument(`${what} is ${id.length} characters long; at most ${MAX_IDENTIFIER_LENGTH} are allowed`);
  if (!identifier.test(id))
    throw invalidArgument(
      `${what} ${JSON.stringify(id)} must be letters and digits, separated by single '.', '_' or '-'`,
    );
}

/** JSON the client sent inside an Any (an exec's process, Update's resources), as UTF-8; anything else is its mistake. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Linux signals are 1..64; runc would refuse anything else, after a process spawn. */
export function checkSignal(signal: number): void {
  if (!Number.isInteger(signal) || signal < 1 || signal > 64)
    throw invalidArgument(`signal ${signal} is not a Linux signal (1-64)`);
}
