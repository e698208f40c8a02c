/**
 * A unified diff (as `diff -u` / `patch` read it) with one hunk spanning everything between the
 * common head and tail. The installer only ever inserts or removes one block (two when it adds
 * the version line), so this is minimal or nearly; it is never wrong, only coarse, for others.
 */
export function unifiedDiff(before: string, after: string, name: string, context = 3): string {
  if (before === after) return "";
  const a = toLines(before);
  const b = toLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const start = Math.max(0, head - context);
  const after_ = Math.min(tail, context);
  const oldLines = a.slice(start, a.length - tail + after_);
  const newLines = b.slice(start, b.length - tail + after_);
  const range = (from: number, count: number) => `${count === 0 ? from : from + 1},${count}`;
  const out = [
    `--- a/${name}`,
    `+++ b/${name}`,
    `@@ -${range(start, oldLines.length)} +${range(start, newLines.length)} @@`,
  ];
  for (let i = start; i < head; i++) out.push(` ${a[i]}`);
  for (let i = head; i < a.length - tail; i++) out.push(`-${a[i]}`);
  for (let i = head; i < b.length - tail; i++) out.push(`+${b[i]}`);
  for (let i = a.length - tail; i < a.length - tail + after_; i++) out.push(` ${a[i]}`);
  return `${out.join("\n")}\n`;
}

// A missing final newline is marked the way diff(1) marks it, so the patch applies exactly.
function toLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  else lines[lines.length - 1] += "\n\\ No newline at end of file";
  return lines;
}
