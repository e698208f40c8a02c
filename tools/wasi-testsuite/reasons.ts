// reasons.json: why a test fails, written by hand after looking at the failure. Keyed by test id,
// then engine name, or "*" for every engine; a test id "*" holds reasons for all of an engine's tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const reasonClasses = {
  engine: "engine limitation",
  shim: "shim limitation",
  harness: "test harness",
} as const;

export type ReasonClass = keyof typeof reasonClasses;

export interface Reason {
  class: ReasonClass;
  reason: string;
}

export type Reasons = Record<string, Record<string, Reason>>;

export const reasonsPath = join(import.meta.dirname, "reasons.json");

export function readReasons(path = reasonsPath): Reasons {
  const reasons = JSON.parse(readFileSync(path, "utf8")) as Reasons;
  for (const [id, byEngine] of Object.entries(reasons)) {
    for (const [engine, r] of Object.entries(byEngine)) {
      if (!(r.class in reasonClasses) || !r.reason)
        throw new Error(
          `reasons.json: ${id} ${engine}: needs a class (${Object.keys(reasonClasses).join(", ")}) and a reason`,
        );
    }
  }
  return reasons;
}

export function reasonFor(reasons: Reasons, id: string, engine: string): Reason | undefined {
  return reasons[id]?.[engine] ?? reasons[id]?.["*"] ?? reasons["*"]?.[engine];
}
