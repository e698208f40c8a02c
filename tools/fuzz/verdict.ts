/** What makes a campaign fail; shared by the tool and its CI test so they judge alike. */
import type { CampaignReport } from "./campaign.ts";

/**
 * How far the last third's lowest RSS may lie above the first half's highest before it is a leak:
 * a heavy burst late in a run can raise the high-water mark by this much without anything leaking,
 * and so can a last third that ends before the collector's next trough, by up to half the swing
 * the first half showed (40 s runs here swing between 90 and 250 MiB; one, which a 2-minute run of
 * the same seed showed back at 94 MiB later, ended 38 MiB above its early peak).
 */
export const rssFloorMarginKiB = (earlyPeakKiB: number, earlyTroughKiB = earlyPeakKiB) =>
  Math.max(32 * 1024, earlyPeakKiB / 5, (earlyPeakKiB - earlyTroughKiB) / 2);

export function verdict(r: CampaignReport): string[] {
  const out: string[] = [];
  for (const f of r.findings) out.push(`${f.kind}: ${f.detail} (x${f.count}; ${f.repro})`);
  for (const l of r.leaks) out.push(`leak: ${l}`);
  const rise = r.rss.lastTroughKiB - r.rss.earlyPeakKiB;
  if (rise > rssFloorMarginKiB(r.rss.earlyPeakKiB, r.rss.earlyTroughKiB))
    out.push(
      `the daemon's rss never fell below ${Math.round(r.rss.lastTroughKiB / 1024)} MiB in the last third, ${Math.round(rise / 1024)} MiB above its peak in the first half`,
    );
  if (r.lifecycles < 2) out.push(`only ${r.lifecycles} good lifecycles ran`);
  return out;
}
