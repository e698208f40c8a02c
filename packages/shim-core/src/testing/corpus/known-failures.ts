/**
 * Corpus cases an engine is known to fail, with the reason. The suite asserts that each one still
 * fails (so a fix shows up as a failure here, to be removed), and docs/conformance.md lists them.
 * Keys: `<case id>` for both clients, or `<case id>@ctr` / `<case id>@cri` for one.
 */
export type KnownFailures = Record<string, Record<string, string>>;

const stripped = "Yosys as published on npm has no name section, so the runner cannot find wasi-libc's working directory to patch it (docs/architecture.md, Paths): relative paths resolve from /, on every engine and on the host alike.";

const wasmerTty = "wasmer: fd_fdstat_get says stdin, stdout and stderr are character devices, so isatty() is 1 for the container's pipes and wasi-libc line-buffers stdout as for a terminal (the host's node:wasi says 0 and buffers fully): the C program reports terminals, and Yosys's error exit, which does not flush stdio, shows a line the host never prints.";
const wasmerMtime = "wasmer: a file's modification time read through the SDK's mounts of the container's directories (/tmp, the volume, the working directory) is not the time it was written; only files in the SDK's own in-memory root (the top of /) have a recent one.";

export const knownFailures: KnownFailures = {
  node: { "yosys-relative": stripped },
  wasmer: {
    "yosys-relative": stripped,
    "args-env-c": wasmerTty,
    "yosys-error": wasmerTty,
    "fs-tour-c/root": wasmerMtime,
    "tour-rust-fs/root": wasmerMtime,
  },
  jco: { "yosys-relative": stripped },
};

export function knownFailure(engine: string, caseId: string, client: "ctr" | "cri"): string | undefined {
  const mine = knownFailures[engine] ?? {};
  return mine[`${caseId}@${client}`] ?? mine[caseId];
}
