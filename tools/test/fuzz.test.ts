import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCampaign } from "../fuzz/campaign.ts";
import { verdict } from "../fuzz/verdict.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
// Fixed, so CI replays the same inputs; FUZZ_SEED explores others with the same checks.
const seed = Number(process.env.FUZZ_SEED ?? 20261205);
const seconds = Number(process.env.FUZZ_SECONDS ?? 40);

// The brief version of `node tools/fuzz/main.ts --minutes N`: same campaign, same verdict.
describe("fuzzing the node shim daemon over its socket", () => {
  it(`lives, answers with wire errors and leaks nothing (seed ${seed}, ${seconds} s)`, async () => {
    const r = await runCampaign({
      binary: join(root, "dist/bin/containerd-shim-node-v1"),
      engine: "node",
      seconds,
      seed,
      burst: 120,
    });
    expect(verdict(r)).toEqual([]);
    expect(r.daemonExit).toBe("exited after Shutdown");
    // The run reached the handlers, not just the framing: requests were refused and some succeeded.
    expect(r.requests).toBeGreaterThan(100);
    expect(r.answers.INVALID_ARGUMENT ?? 0).toBeGreaterThan(10);
    expect(r.answers.OK ?? 0).toBeGreaterThan(10);
    expect(r.lifecycles).toBeGreaterThanOrEqual(3);
    expect(r.fds.end).toBeLessThanOrEqual(r.fds.start + 3);
  }, 600_000);
});
