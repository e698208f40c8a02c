// Number and table formatting shared by the report's sections.
import type { Summary } from "./stats.ts";

export const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
export const spread = (s: Summary | undefined): string => (s && s.n > 0 ? `${f(s.p10)}–${f(s.p90)}` : "–");
export const range = (s: Summary | undefined): string => (s && s.n > 0 ? `${f(s.min)}–${f(s.max)}` : "–");

export function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
