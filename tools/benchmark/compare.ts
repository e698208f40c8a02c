import { readFileSync } from "node:fs";

/** Prints NEW/OLD for every metric both files have; informative only, it never fails on a value. */
export function compare(oldFile: string, newFile: string): string {
  const load = (f: string) =>
    (JSON.parse(readFileSync(f, "utf8")) as { metrics?: Record<string, number> }).metrics ?? {};
  const a = load(oldFile);
  const b = load(newFile);
  const keys = Object.keys(b).filter((k) => k in a);
  const width = Math.max(6, ...keys.map((k) => k.length));
  const rows = [`${"metric".padEnd(width)}  ${"old".padStart(10)}  ${"new".padStart(10)}  new/old`];
  for (const k of keys) {
    const ratio = a[k] === 0 ? Number.NaN : b[k]! / a[k]!;
    rows.push(
      `${k.padEnd(width)}  ${String(a[k]).padStart(10)}  ${String(b[k]).padStart(10)}  ${Number.isFinite(ratio) ? ratio.toFixed(2) : "-"}`,
    );
  }
  const only = (x: Record<string, number>, y: Record<string, number>) => Object.keys(x).filter((k) => !(k in y));
  if (only(a, b).length > 0) rows.push(`only in old: ${only(a, b).join(", ")}`);
  if (only(b, a).length > 0) rows.push(`only in new: ${only(b, a).join(", ")}`);
  return rows.join("\n");
}
