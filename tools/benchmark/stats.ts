export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
}

/** Linear interpolation between closest ranks, as numpy's default. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    p10: quantile(s, 0.1),
    p90: quantile(s, 0.9),
    min: s[0] ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
  };
}

export const median = (values: readonly number[]): number => summarize(values).median;

export const round = (v: number, digits = 1): number =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v;

export function roundSummary(s: Summary, digits = 1): Summary {
  return {
    n: s.n,
    median: round(s.median, digits),
    p10: round(s.p10, digits),
    p90: round(s.p90, digits),
    min: round(s.min, digits),
    max: round(s.max, digits),
  };
}
