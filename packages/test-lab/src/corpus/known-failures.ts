/**
 * Corpus cases an engine is known to fail, with the reason. The suite asserts that each one still
 * fails (so a fix shows up as a failure here, to be removed), and docs/conformance.md lists them.
 * Keys: `<case id>` for both clients, or `<case id>@ctr` / `<case id>@cri` for one.
 */
export type KnownFailures = Record<string, Record<string, string>>;

const stripped =
  "Yosys as published on npm has no name section, so the runner cannot find wasi-libc's working directory to patch it (docs/architecture.md, Paths): relative paths resolve from /, on every engine and on the host alike.";

export const knownFailures: KnownFailures = {
  node: { "yosys-relative": stripped },
  wasmer: { "yosys-relative": stripped },
  jco: { "yosys-relative": stripped },
};

export function knownFailure(engine: string, caseId: string, client: "ctr" | "cri"): string | undefined {
  const mine = knownFailures[engine] ?? {};
  return mine[`${caseId}@${client}`] ?? mine[caseId];
}
