import { describe, expect, it } from "vitest";
import type { CampaignReport } from "../../fuzz/campaign.ts";
import { verdict } from "../../fuzz/verdict.ts";

const MiB = 1024;
function report(earlyTrough: number, earlyPeak: number, lastTrough: number): CampaignReport {
  const rss = {
    startKiB: earlyTrough * MiB,
    endKiB: lastTrough * MiB,
    peakKiB: Math.max(earlyPeak, lastTrough) * MiB,
    earlyPeakKiB: earlyPeak * MiB,
    earlyTroughKiB: earlyTrough * MiB,
    lastTroughKiB: lastTrough * MiB,
    seriesKiB: [],
  };
  return { findings: [], leaks: [], lifecycles: 5, rss } as unknown as CampaignReport;
}

describe("the fuzz verdict on the daemon's RSS", () => {
  it("takes a floor that rose steadily past the early peak for a leak", () => {
    expect(verdict(report(88, 100, 160))).toEqual([
      "the daemon's rss never fell below 160 MiB in the last third, 60 MiB above its peak in the first half",
    ]);
  });

  it("allows a last third that ended within half the early swing, before the collector's next trough", () => {
    expect(verdict(report(90, 185, 223))).toEqual([]);
    expect(verdict(report(90, 185, 240)).length).toBe(1);
  });
});
