import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = join(root, ".github/workflows");
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
  : [];

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  [key: string]: unknown;
}
interface Job {
  "runs-on"?: string;
  steps?: Step[];
  needs?: string | string[];
}

/** Repository paths a run step calls: tools/*.sh and the like, and what bash and node are given. */
function scriptPaths(run: string): string[] {
  const paths = new Set<string>();
  for (const m of run.matchAll(
    /(?:^|[\s;&|(])((?:\.\/)?(?:tools|packages|\.ci|scripts)\/[\w./-]+\.(?:sh|mjs|js|ts))\b/g,
  ))
    paths.add(m[1]!.replace(/^\.\//, ""));
  for (const m of run.matchAll(/\b(?:bash|node|sh)\s+((?![-$])[\w./-]+)/g))
    if (!m[1]!.startsWith("/")) paths.add(m[1]!.replace(/^\.\//, ""));
  return [...paths];
}

describe("GitHub workflows", () => {
  it("exist: ci and release", () => {
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "release.yml"]));
  });

  describe.each(files)("%s", (file) => {
    const doc = parse(readFileSync(join(dir, file), "utf8")) as {
      name?: string;
      on?: unknown;
      jobs?: Record<string, Job>;
    };

    it("has a name, triggers and jobs with steps", () => {
      expect(typeof doc.name).toBe("string");
      expect(doc.on).toBeTruthy();
      expect(Object.keys(doc.jobs ?? {}).length).toBeGreaterThan(0);
      for (const [id, job] of Object.entries(doc.jobs ?? {})) {
        expect(job["runs-on"], id).toMatch(/ubuntu/);
        expect(Array.isArray(job.steps) && job.steps.length > 0, id).toBe(true);
        for (const need of [job.needs ?? []].flat())
          expect(Object.keys(doc.jobs!), `${id} needs ${need}`).toContain(need);
        for (const step of job.steps!) {
          // Each step does exactly one thing, and actions are pinned to a version.
          expect(Number("uses" in step) + Number("run" in step), `${id}: ${JSON.stringify(step)}`).toBe(1);
          if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[\w.-]+$/);
          if (step.run) expect(typeof step.run).toBe("string");
        }
      }
    });

    it("calls only scripts that exist in the repository", () => {
      const calls = Object.values(doc.jobs ?? {}).flatMap((job) =>
        (job.steps ?? []).flatMap((s) => (s.run ? scriptPaths(s.run) : [])),
      );
      expect(calls.length).toBeGreaterThan(0);
      for (const path of calls) expect(existsSync(join(root, path)), path).toBe(true);
    });

    it("runs the end-to-end tests as root, as tools/test.sh requires, and the unit tier without", () => {
      for (const job of Object.values(doc.jobs ?? {})) {
        for (const step of job.steps ?? []) {
          if (!step.run?.includes("tools/test.sh")) continue;
          if (/tools\/test\.sh unit\b/.test(step.run)) expect(step.run).not.toMatch(/\bsudo\b/);
          else expect(step.run).toMatch(/\bsudo\b/);
        }
      }
    });
  });

  it("lints in CI: ci.yml runs pnpm lint (Biome), and the full tools/test.sh counts it", () => {
    const ci = parse(readFileSync(join(dir, "ci.yml"), "utf8")) as { jobs: Record<string, Job> };
    const runs = Object.values(ci.jobs).flatMap((job) => (job.steps ?? []).map((s) => s.run ?? ""));
    expect(runs).toContain("pnpm lint");
    const scripts = (
      JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.lint).toMatch(/^biome ci\b/);
    expect(readFileSync(join(root, "tools/test.sh"), "utf8")).toContain("@biomejs/biome/bin/biome ci");
  });

  it("finds script paths in run steps", () => {
    expect(scriptPaths('sudo env "PATH=$PATH" bash tools/test.sh packages/shim-node && node tools/x.mjs --y')).toEqual([
      "tools/test.sh",
      "tools/x.mjs",
    ]);
  });
});
