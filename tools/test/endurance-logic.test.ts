import { describe, expect, it } from "vitest";
import { beginMarker, endMarker, splice } from "../endurance/report.ts";
import { mergeResults, type Results } from "../endurance/results.ts";
import { flatness, flatRule, slope, type ProcSample } from "../endurance/sample.ts";

/** Samples every `every` seconds for `hours`, PSS = base + growth per hour (+ a saw tooth), fds fixed. */
function samples(hours: number, every: number, growthPerHour: number, saw = 0, fds = () => 20): ProcSample[] {
  const out: ProcSample[] = [];
  for (let t = 0; t <= hours * 3600; t += every) {
    const mb = 40 + (growthPerHour * t) / 3600 + (saw * ((t / every) % 10)) / 10;
    out.push({ t, rssMB: mb + 10, pssMB: mb, fds: fds() });
  }
  return out;
}

describe("slope", () => {
  it("is the least-squares slope, NaN when it cannot be told", () => {
    expect(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
    ).toBeCloseTo(2);
    expect(slope([{ x: 0, y: 1 }])).toBeNaN();
    expect(
      slope([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toBeNaN();
  });
});

describe("flatness", () => {
  it("calls an hour of a saw-toothed but level heap flat", () => {
    const f = flatness(samples(1, 10, 0, 3));
    expect(f.verdict).toBe("flat");
    expect(Math.abs(f.pssSlopeMBPerHour)).toBeLessThan(flatRule.maxSlopeMBPerHour);
  });

  it("calls 2 MB an hour growing, and an fd a minute growing", () => {
    expect(flatness(samples(1, 10, 2)).verdict).toBe("growing");
    let fds = 20;
    expect(flatness(samples(1, 10, 0, 0, () => Math.floor((fds += 1 / 6)))).verdict).toBe("growing");
  });

  it("leaves out the warm-up, and will not judge a run shorter than the rule's span", () => {
    // Steep growth in the first 10 % only, then level: flat.
    const warm = samples(1, 10, 0).map((s) => ({
      ...s,
      pssMB: s.pssMB + Math.max(0, 30 - s.t / 12),
      rssMB: s.rssMB + Math.max(0, 30 - s.t / 12),
    }));
    expect(flatness(warm).verdict).toBe("flat");
    expect(flatness(samples(1 / 60, 5, 100)).verdict).toBe("too short");
    expect(flatness([]).verdict).toBe("too short");
  });
});

describe("flatness's split of RSS", () => {
  it("gives the slopes of the anonymous and the file-backed part when the samples have them", () => {
    const split = samples(1, 10, 2).map((s) => ({ ...s, anonMB: 20 + (s.t / 3600) * 2, fileMB: 30 }));
    const f = flatness(split);
    expect(f.anonSlopeMBPerHour).toBeCloseTo(2, 1);
    expect(f.fileSlopeMBPerHour).toBeCloseTo(0, 1);
    expect(flatness(samples(1, 10, 2)).anonSlopeMBPerHour).toBeUndefined();
  });
});

describe("splice", () => {
  it("replaces only the generated section, or appends one", () => {
    const doc = `# Title\n\nhand-written\n\n${beginMarker}\nold\n${endMarker}\n\nafter\n`;
    const out = splice(doc, `${beginMarker}\nnew\n${endMarker}`);
    expect(out).toBe(`# Title\n\nhand-written\n\n${beginMarker}\nnew\n${endMarker}\n\nafter\n`);
    expect(splice("# Title\n", `${beginMarker}\nx\n${endMarker}`)).toBe(`# Title\n\n${beginMarker}\nx\n${endMarker}\n`);
  });
});

describe("mergeResults", () => {
  const run = (engine: string, date: string, durationS: number, left: string[] = []): Results =>
    ({
      schema: 1,
      date,
      command: `tools/reliability --engine ${engine}`,
      quick: false,
      durationS,
      machine: {},
      engines: [engine],
      versions: { [engine]: `v-${engine}` },
      settings: {
        cycles: 1000,
        criContainers: 200,
        probeIntervalS: 1,
        soakS: 3600,
        sampleS: 10,
        lineIntervalMs: 100,
        execEverySamples: 6,
      },
      sequential: false,
      flatRule,
      cycles: [{ engine, cycles: 1000, ok: 1000, failed: 0, failures: [], checkpoints: [], leftovers: left }],
      cri: [],
      soak: [],
      soakLeftovers: [],
      afterStop: { cycles: [] },
      errors: [],
      problems: [],
    }) as unknown as Results;

  it("joins runs made side by side, one per engine, and judges them again", () => {
    const m = mergeResults([run("jco", "2026-12-05T13:00:00Z", 100), run("node", "2026-12-05T12:59:00Z", 300, ["x"])]);
    expect(m.engines).toEqual(["jco", "node"]);
    expect(m.versions).toEqual({ jco: "v-jco", node: "v-node" });
    expect(m.date).toBe("2026-12-05T12:59:00Z");
    expect(m.durationS).toBe(300);
    expect(m.command).toBe("tools/reliability --engine jco & tools/reliability --engine node");
    expect(Object.keys(m.afterStop)).toEqual(["cycles (jco)", "cycles (node)"]);
    expect(m.problems).toEqual(["cycles node: left x"]);
  });

  it("keeps every run's idle daemons and the first run's controls, and judges only the daemons", () => {
    const proc = (name: string, growth: number) => {
      const xs = samples(1, 30, growth);
      return { name, samples: xs, flatness: flatness(xs) };
    };
    const a = run("jco", "2026-12-05T13:00:00Z", 100);
    a.idle = { durationS: 3600, processes: [proc("jco daemon", 0), proc("bare Node", 5)] };
    const b = run("node", "2026-12-05T13:00:00Z", 100);
    b.idle = { durationS: 3500, processes: [proc("node daemon", 5), proc("bare Node", 0)] };
    const m = mergeResults([a, b]);
    expect(m.idle?.processes.map((p) => p.name)).toEqual(["jco daemon", "node daemon", "bare Node"]);
    expect(m.idle?.processes[2]?.flatness.verdict).toBe("growing");
    expect(m.problems).toEqual([expect.stringMatching(/^idle: the node daemon grows \(PSS 5 MB\/h/)]);
  });

  it("refuses runs with different settings", () => {
    const other = run("node", "2026-12-05T13:00:00Z", 1);
    other.settings = { ...other.settings, cycles: 5 };
    expect(() => mergeResults([run("jco", "2026-12-05T13:00:00Z", 1), other])).toThrow(/different settings/);
  });
});
