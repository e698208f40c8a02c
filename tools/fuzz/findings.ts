/** Turns answers into findings: anything but a clean wire error for a bad request is one. */
import { Code } from "@wasm-shims/shim-core/src/errors.ts";
import type { Answer } from "./wire.ts";

export interface Finding {
  kind: string;
  detail: string;
  /** How to get it again: the seed, the action's number and what was sent. */
  repro: string;
  count: number;
}

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]));

export function codeName(code: number): string {
  return codeNames.get(code) ?? `code ${code}`;
}

/** Messages that show a JavaScript error escaped a handler instead of a ShimError. */
const internal =
  /TypeError|RangeError|SyntaxError|ReferenceError|is not a function|is not iterable|Cannot read prop|Cannot convert|Unexpected token|undefined|\bERR_[A-Z_]+|Maximum call stack/;

/** A refusal may quote the parser it used; an UNKNOWN or INTERNAL, or a bare JS message, is a bug. */
function jsError(code: number, message: string): boolean {
  if (code === Code.OK || !internal.test(message)) return false;
  return (
    code === Code.UNKNOWN ||
    code === Code.INTERNAL ||
    /^(TypeError|RangeError|ReferenceError|Cannot |undefined)/.test(message)
  );
}

export class Findings {
  readonly #byKey = new Map<string, Finding>();
  readonly answers = new Map<string, number>();

  add(kind: string, detail: string, repro: string): void {
    const key = `${kind}\n${normalize(detail)}`;
    const f = this.#byKey.get(key);
    if (f) f.count += 1;
    else this.#byKey.set(key, { kind, detail: detail.slice(0, 400), repro, count: 1 });
  }

  /** Records one answer to a Task request; flags the ones that are not a plain wire error. */
  answer(method: string, a: Answer, repro: string): void {
    if (a.kind !== "response") {
      this.count(a.kind);
      if (a.kind === "timeout") this.add("no answer", `${method} got no answer`, repro);
      else if (a.kind === "bad-frame") this.add("bad response frame", `${method}: ${a.why}`, repro);
      else this.add("connection closed", `the daemon closed the connection while ${method} was pending`, repro);
      return;
    }
    const status = a.response.status;
    const code = status?.code ?? Code.OK;
    this.count(codeName(code));
    if (!codeNames.has(code)) this.add("unknown status code", `${method}: ${code} ${status?.message ?? ""}`, repro);
    else if (jsError(code, status?.message ?? ""))
      this.add("JavaScript error on the wire", `${method}: ${codeName(code)}: ${status?.message}`, repro);
    else if (code === Code.INTERNAL)
      this.add("INTERNAL for a client's request", `${method}: ${status?.message}`, repro);
    else if (code === Code.UNKNOWN && !/^(runc |failed to start)/.test(status?.message ?? ""))
      this.add("UNKNOWN not from runc", `${method}: ${status?.message}`, repro);
  }

  count(what: string): void {
    this.answers.set(what, (this.answers.get(what) ?? 0) + 1);
  }

  list(): Finding[] {
    return [...this.#byKey.values()];
  }
}

/** Same problem, different ids or sizes: one finding. */
function normalize(detail: string): string {
  return detail
    .replace(/\/tmp\/[^\s:"]+/g, "<path>")
    .replace(/\d+/g, "N")
    .replace(/x{8,}/g, "x…")
    .slice(0, 160);
}

export function hex(bytes: Uint8Array, max = 256): string {
  const h = Buffer.from(bytes.subarray(0, max)).toString("hex");
  return bytes.length > max ? `${h}… (${bytes.length} bytes)` : h;
}
