import { isLargeModuleCase } from "./large-module.ts";
import type { Results } from "./results.ts";

interface Bar {
  label: string;
  value: number;
  lo?: number;
  hi?: number;
  baseline: boolean;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One horizontal bar panel at (x, y); whiskers show p10–p90 when given. */
function panel(
  x: number,
  y: number,
  w: number,
  title: string,
  unit: string,
  bars: readonly Bar[],
): { svg: string; h: number } {
  const labelW = 130;
  const rowH = 26;
  const plotW = w - labelW - 60;
  const max = Math.max(1, ...bars.map((b) => Math.max(b.value, b.hi ?? 0)));
  const sx = (v: number) => x + labelW + (v / max) * plotW;
  const parts = [`<text x="${x}" y="${y + 14}" class="t">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const top = y + 28 + i * rowH;
    parts.push(`<text x="${x + labelW - 8}" y="${top + 15}" class="l">${esc(b.label)}</text>`);
    parts.push(
      `<rect x="${x + labelW}" y="${top + 3}" width="${Math.max(1, sx(b.value) - x - labelW).toFixed(1)}" height="${rowH - 8}" class="${b.baseline ? "base" : "bar"}"/>`,
    );
    if (b.lo !== undefined && b.hi !== undefined) {
      const cy = top + 3 + (rowH - 8) / 2;
      parts.push(
        `<path d="M${sx(b.lo).toFixed(1)} ${cy}H${sx(b.hi).toFixed(1)}M${sx(b.lo).toFixed(1)} ${cy - 5}v10M${sx(b.hi).toFixed(1)} ${cy - 5}v10" class="w"/>`,
      );
    }
    parts.push(
      `<text x="${(Math.max(sx(b.value), sx(b.hi ?? 0)) + 6).toFixed(1)}" y="${top + 15}" class="v">${b.value.toFixed(0)} ${unit}</text>`,
    );
  });
  return { svg: parts.join("\n"), h: 28 + bars.length * rowH };
}

/** Cold start, memory per task, time to start N tasks and compute time, runc/native in grey. */
export function chart(r: Results): string {
  const cold: Bar[] = r.coldStart
    .filter((c) => c.runs > 0 && !isLargeModuleCase(c.label))
    .map((c) => ({
      label: c.label,
      value: c.wallMs.median,
      lo: c.wallMs.p10,
      hi: c.wallMs.p90,
      baseline: c.engine === "runc",
    }));
  const maxN = Math.max(0, ...r.density.map((d) => d.n));
  const dens = r.density.filter((d) => d.n === maxN && d.perTask);
  const mem: Bar[] = dens.map((d) => ({ label: d.label, value: d.perTask!.pss, baseline: d.engine === "runc" }));
  const start: Bar[] = dens.map((d) => ({ label: d.label, value: d.allRunningMs ?? 0, baseline: d.engine === "runc" }));
  const cpu: Bar[] = r.compute
    .filter((c) => c.computeMs)
    .map((c) => ({
      label: c.label,
      value: c.computeMs!.median,
      lo: c.computeMs!.p10,
      hi: c.computeMs!.p90,
      baseline: c.label === "native",
    }));
  const w = 460;
  const a = panel(10, 10, w, "ctr run --rm hello, median ms (p10–p90)", "ms", cold);
  const b = panel(10 + w + 20, 10, w, `memory per task, PSS MB (${maxN} idle tasks)`, "MB", mem);
  const row2 = Math.max(a.h, b.h) + 30;
  const c = panel(10, row2, w, `${maxN} tasks started at once: all RUNNING, ms`, "ms", start);
  const d = panel(10 + w + 20, row2, w, "sha256 compute, median ms (p10–p90)", "ms", cpu);
  const h = row2 + Math.max(c.h, d.h) + 40;
  const total = 2 * w + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${total}" height="${h}" viewBox="0 0 ${total} ${h}" font-family="sans-serif" font-size="12">
<style>.t{font-weight:bold;font-size:13px}.l{text-anchor:end}.bar{fill:#3b78c2}.base{fill:#9a9a9a}.w{stroke:#222;stroke-width:1.2;fill:none}.v{fill:#222}.n{fill:#666;font-size:11px}</style>
<rect width="100%" height="100%" fill="#fff"/>
${a.svg}
${b.svg}
${c.svg}
${d.svg}
<text x="10" y="${h - 10}" class="n">${esc(`${r.command} — ${r.date.slice(0, 10)} — ${r.machine.cpu}, ${r.machine.cores} cores — grey: runc / native`)}</text>
</svg>
`;
}
