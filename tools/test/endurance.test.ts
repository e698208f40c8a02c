import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Results } from "../endurance/results.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const engines = ["node", "wasmer", "jco"];

// The short version of tools/reliability: every count is small and the soak lasts a minute, too
// short to judge memory (the full run does that), but every run must succeed and leave nothing.
describe(
  "tools/reliability --quick",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "reliability-test-"));
    const file = join(dir, "reliability.json");
    let r: Results;
    let exitCode = 0;

    beforeAll(async () => {
      try {
        await promisify(execFile)(join(root, "tools/reliability"), ["--quick", "--json", file], {
          cwd: root,
          timeout: 40 * 60_000,
          maxBuffer: 64 << 20,
        });
      } catch (e) {
        exitCode = (e as { code?: number }).code ?? -1;
      }
      r = JSON.parse(readFileSync(file, "utf8")) as Results;
    }, 41 * 60_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("ran every part for every engine, without an error", () => {
      expect(r.errors).toEqual([]);
      expect(r.cycles.map((c) => c.engine).sort()).toEqual([...engines].sort());
      expect(r.cri.map((c) => c.engine).sort()).toEqual([...engines].sort());
      expect(r.soak.map((s) => s.engine).sort()).toEqual([...engines].sort());
      expect(r.idle?.processes.map((p) => p.name).sort()).toEqual(
        [...engines.map((e) => `${e} daemon`), "bare Node", "bare Node + 0.7 s timer"].sort(),
      );
      for (const p of r.idle?.processes ?? []) expect(p.samples.length, p.name).toBeGreaterThan(2);
    });

    it("ran every ctr run --rm cycle to hello's output, and left nothing after any tenth of them", () => {
      for (const c of r.cycles) {
        expect({ engine: c.engine, ok: c.ok, failures: c.failures }).toEqual({
          engine: c.engine,
          ok: r.settings.cycles,
          failures: [],
        });
        expect(c.checkpoints.length).toBeGreaterThan(2);
        for (const cp of c.checkpoints) expect(cp.leftovers, `${c.engine} after ${cp.done}`).toEqual([]);
        expect(c.leftovers).toEqual([]);
      }
    });

    it("created, ran and removed every container of the CRI pod while every exec probe answered", () => {
      for (const c of r.cri) {
        expect({ engine: c.engine, ok: c.ok, failures: c.failures }).toEqual({
          engine: c.engine,
          ok: r.settings.criContainers,
          failures: [],
        });
        expect(c.probes.sent).toBeGreaterThan(0);
        expect(c.probes.failures).toEqual([]);
        expect(c.daemon.samples.length).toBeGreaterThan(0);
        expect(c.leftovers).toEqual([]);
      }
    });

    it("echoed every line of the soak in order, answered Stats and execs, and ended the tasks with SIGTERM", () => {
      for (const s of r.soak) {
        expect(s.linesSent, s.engine).toBeGreaterThan(100);
        expect({ engine: s.engine, lost: s.linesLost, outOfOrder: s.outOfOrder, failures: s.failures }).toEqual({
          engine: s.engine,
          lost: 0,
          outOfOrder: 0,
          failures: [],
        });
        expect(s.stats.ok).toBeGreaterThan(0);
        expect(s.execs.ok).toBeGreaterThan(0);
        expect(s.daemon.samples.length).toBeGreaterThan(5);
        // Exec files are removed as each exec is deleted: the bundle does not grow.
        expect(s.bundleEntries.max).toBe(s.bundleEntries.min);
        expect({ engine: s.engine, endedBy: s.endedBy, exitCode: s.exitCode }).toEqual({
          engine: s.engine,
          endedBy: "SIGTERM",
          exitCode: 143,
        });
      }
      expect(r.soakLeftovers).toEqual([]);
    });

    it("left nothing on the host once each containerd was stopped, and says so in its verdict", () => {
      for (const [part, left] of Object.entries(r.afterStop)) expect(left, part).toEqual([]);
      expect(r.problems).toEqual([]);
      expect(exitCode).toBe(0);
    });
  },
  42 * 60_000,
);
