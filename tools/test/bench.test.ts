import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Results } from "../benchmark/results.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const positive = (v: number | undefined) => expect(Number.isFinite(v) && v! > 0, String(v)).toBe(true);

// Shapes and sanity only: a benchmark on a shared machine must never fail on a time.
describe("tools/bench --quick (node engine)", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-test-"));
  const file = join(dir, "bench.json");
  let r: Results;

  beforeAll(() => {
    execFileSync(join(root, "tools/bench"), ["--quick", "--engine", "node", "--json", file], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 280_000,
    });
    r = JSON.parse(readFileSync(file, "utf8")) as Results;
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("measures the node shim's binary", () => {
    const b = r.binary.find((x) => x.engine === "node");
    positive(b?.sizeMB);
    positive(b?.versionMs.median);
  });

  it("times cold starts of node and runc with their phases", () => {
    for (const label of ["node", "runc"]) {
      const c = r.coldStart.find((x) => x.label === label);
      expect(c?.runs).toBeGreaterThan(0);
      positive(c?.wallMs.median);
      expect(c?.largest).toBeDefined();
      for (const s of Object.values(c!.phases)) expect(Number.isFinite(s.median) && s.median >= 0).toBe(true);
    }
    positive(r.coldStart.find((x) => x.label === "node")?.ratioToRunc);
  });

  it("runs a large module that others built, first and again, beside hello.wasm", () => {
    const large = r.coldStart.filter((x) => x.engine === "node" && / MB module \((first|again)\)$/.test(x.label));
    expect(large.map((x) => x.label.replace(/^node, \d+ MB/, "node, N MB"))).toEqual([
      "node, N MB module (first)",
      "node, N MB module (again)",
    ]);
    for (const c of large) {
      expect(c.error).toBeUndefined();
      positive(c.wallMs.median);
    }
  });

  it("runs hello.wasm and the large module on the host too, for the module's own start-up", () => {
    expect(r.hostFloor?.error).toBeUndefined();
    expect(r.hostFloor?.helloMs.n).toBe(r.hostFloor?.rounds);
    positive(r.hostFloor?.helloMs.median);
    positive(r.hostFloor?.largeMs.median);
  });

  it("measures the bare Node floor, below what a task's daemon holds", () => {
    expect(r.bareNode?.error).toBeUndefined();
    positive(r.bareNode?.pssMb);
    positive(r.bareNode?.anonMb);
    const node = r.memory.find((x) => x.engine === "node");
    expect(r.bareNode!.pssMb!).toBeLessThan(node!.parts!.shim);
  });

  it("reports memory and density for node and runc", () => {
    for (const engine of ["node", "runc"]) {
      const m = r.memory.find((x) => x.engine === engine);
      positive(m?.steady?.rss);
      positive(m?.steady?.pss);
      positive(m?.peak?.hwm);
      const d = r.density.find((x) => x.engine === engine);
      expect(d?.running).toBe(d?.n);
      positive(d?.allRunningMs);
      positive(d?.perTask?.pss);
    }
  });

  it("compares compute against native", () => {
    for (const label of ["native", "node"]) positive(r.compute.find((x) => x.label === label)?.computeMs?.median);
    positive(r.compute.find((x) => x.label === "node")?.ratioToNative);
  });

  it("has a flat metrics map and left nothing on the host", () => {
    expect(Object.keys(r.metrics).length).toBeGreaterThan(10);
    for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
    expect(r.leftovers).toEqual([]);
  });
}, 320_000);
