import { beforeAll, describe, expect, it } from "vitest";
import { buildPrograms } from "@wasm-shims/test-fixtures";
import { corpusCases } from "../src/corpus/cases.ts";
import { problems, runReference } from "../src/corpus/reference.ts";

// The corpus's expectations hold for the modules themselves, run under node:wasi on the host
// with the working-directory patch: what the engines are then held to in a container.
describe("the corpus on the host (node:wasi, outside any container)", () => {
  beforeAll(() => buildPrograms(), 120_000);

  for (const c of corpusCases.filter((c) => !c.component && c.id !== "yosys-relative")) {
    it(`${c.id} meets its expectations`, async () => {
      const out = await runReference(c);
      expect(problems(c, out), `stdout:\n${out.stdout}\nstderr:\n${out.stderr}`).toEqual([]);
    }, 60_000);
  }

  // Yosys as published has no name section, so its working directory cannot be patched in.
  it("yosys-relative resolves design.v from / (the documented limit of stripped modules)", async () => {
    const c = corpusCases.find((c) => c.id === "yosys-relative")!;
    const out = await runReference(c);
    expect(out.stdout).toContain("Generating RTLIL representation for module `\\counter_at_root'.");
  }, 60_000);
});
