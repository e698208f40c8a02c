import { describe, expect, it } from "vitest";
import { BEGIN, END, corpusSection, renderCorpus, spliceCorpus } from "../corpus/doc.ts";

describe("the corpus section of docs/conformance.md", () => {
  const suiteDoc = "# WASI conformance\n\n## Totals\n\n| a |\n\n## Every test\n\n| t |\n";
  const run = {
    commit: "abc",
    engines: ["node"],
    results: [
      { engine: "node", client: "ctr" as const, id: "fs-tour-c/workdir", problems: [] },
      {
        engine: "node",
        client: "cri" as const,
        id: "yosys-relative",
        problems: ["stdout lacks x"],
        known: "stripped | module",
      },
    ],
  };

  it("goes before the suite's table of every test, and replaces itself on the next run", () => {
    const section = renderCorpus(run);
    expect(section.startsWith(BEGIN) && section.endsWith(END)).toBe(true);
    expect(section).toContain("| fs-tour-c/workdir | fs-tour-c | workdir | pass | – |");
    expect(section).toContain("| node | cri | yosys-relative | stripped \\| module | stdout lacks x |");
    const once = spliceCorpus(suiteDoc, section);
    expect(once.indexOf(BEGIN)).toBeLessThan(once.indexOf("## Every test"));
    expect(once.indexOf("## Totals")).toBeLessThan(once.indexOf(BEGIN));
    const again = spliceCorpus(once, renderCorpus({ ...run, commit: "def" }));
    expect(again.split(BEGIN)).toHaveLength(2);
    expect(again).toContain("commit `def`");
  });

  it("is carried over when the suite's part is regenerated", () => {
    const withCorpus = spliceCorpus(suiteDoc, renderCorpus(run));
    const kept = corpusSection(withCorpus)!;
    expect(spliceCorpus(suiteDoc.replace("| t |", "| t2 |"), kept)).toContain("| t2 |");
    expect(corpusSection(suiteDoc)).toBeUndefined();
  });
});
