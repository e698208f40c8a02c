/** What makes a campaign fail; shared by the tool and its CI test so they judge alike. */
import type { CampaignReport } from "./campaign.ts";

/** RSS may grow while V8 sizes its heap; growth beyond this over a run is a leak. */
export const RSS_GROWTH_LIMIT_KIB = 64 * 1024;

export function verdict(r: CampaignReport): string[] {
  const out: string[] = [];
  for (const f of r.findings) out.push(`${f.kind}: ${f.detail} (x${f.count}; ${f.repro})`);
  for (const l of r.leaks) out.push(`leak: ${l}`);
  if (r.rss.endKiB - r.rss.startKiB > RSS_GROWTH_LIMIT_KIB) out.push(`daemon rss grew by ${Math.round((r.rss.endKiB - r.rss.startKiB) / 1024)} MiB`);
  if (r.lifecycles < 2) out.push(`only ${r.lifecycles} good lifecycles ran`);
  return out;
}
