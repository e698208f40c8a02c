export interface LogLine {
  /** Milliseconds since the epoch, with the sub-millisecond part when the line has one. */
  t: number;
  level: string;
  msg: string;
  fields: Record<string, string>;
}

const lineRe = /^time="([^"]+)" level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S+)(.*)$/;
const fieldRe = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
const timeRe = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  try {
    return JSON.parse(v) as string;
  } catch {
    return v.slice(1, -1);
  }
}

/** containerd writes nanoseconds, the shims milliseconds; Date.parse keeps only the milliseconds. */
export function parseTime(text: string): number {
  const m = timeRe.exec(text);
  if (!m) return Number.NaN;
  const frac = m[2] ?? "";
  return Date.parse(`${m[1]}${m[3]}`) + Number(`0.${frac || "0"}`) * 1000;
}

/** logrus text lines, from containerd itself or copied by it from a shim's log FIFO. */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split("\n")) {
    const m = lineRe.exec(raw);
    if (!m) continue;
    const fields: Record<string, string> = {};
    for (const f of m[4]!.matchAll(fieldRe)) fields[f[1]!] = unquote(f[2]!);
    out.push({ t: parseTime(m[1]!), level: m[2]!, msg: unquote(m[3]!), fields });
  }
  return out;
}
