/**
 * Corpus cases an engine is known to fail, with the reason. The suite asserts that each one still
 * fails (so a fix shows up as a failure here, to be removed), and docs/conformance.md lists them.
 * Keys: `<case id>` for both clients, or `<case id>@ctr` / `<case id>@cri` for one.
 */
export type KnownFailures = Record<string, Record<string, string>>;

const stripped = "Yosys as published on npm has no name section, so the runner cannot find wasi-libc's working directory to patch it (docs/architecture.md, Paths): relative paths resolve from /, on every engine and on the host alike.";
const jcoAdapter = "jco runs core modules through the preview1 command adapter, transpiled at Create from the unpatched module, so the working directory is not patched in and a non-zero exit arrives as 1 (issue 9; the branch that runs core modules through our own preview1 layer fixes both).";

const wasmerTty = "wasmer: fd_fdstat_get says stdin, stdout and stderr are character devices, so isatty() is 1 for the container's pipes and wasi-libc line-buffers stdout as for a terminal (the host's node:wasi says 0 and buffers fully): the C program reports terminals, and Yosys's error exit, which does not flush stdio, shows a line the host never prints.";
const wasmerMtime = "wasmer: a file's modification time read through the SDK's mounts of the container's directories (/tmp, the volume, the working directory) is not the time it was written; only files in the SDK's own in-memory root (the top of /) have a recent one.";

const jcoAbove = "preview2-shim refuses a path that climbs above its preopen (`../data.txt` in /) with EPERM, where Linux and node:wasi resolve `/..` to `/` (wasmtime's cap-std refuses it too).";
const jcoTty = "The preview1 adapter says stdio are character devices, so wasi-libc line-buffers stdout as for a terminal: Yosys's error exit, which does not flush stdio, shows a line that the host's buffered stdout never prints.";

export const knownFailures: KnownFailures = {
  node: { "yosys-relative": stripped },
  wasmer: {
    "yosys-relative": stripped,
    "args-env-c": wasmerTty,
    "yosys-error": wasmerTty,
    "fs-tour-c/workdir": wasmerMtime,
    "fs-tour-c/root": wasmerMtime,
    "tour-rust-fs/workdir": wasmerMtime,
    "tour-rust-fs/root": wasmerMtime,
  },
  jco: {
    "yosys-relative": stripped,
    "fs-tour-c/workdir": jcoAdapter,
    "cwd-chdir-c/workdir": jcoAdapter,
    "cwd-chdir-c/root+cwd=/app/nested": jcoAdapter,
    "tour-rust-fs/workdir": jcoAdapter,
    "args-env-c": "Through the preview1 adapter a non-zero exit arrives as 1, an empty environment value swallows the next variable (the guest sees `CORPUS_EMPTY=CORPUS_EXIT=7`), and stdio are reported as terminals.",
    "tour-rust-exit": jcoAdapter,
    "fs-tour-c/root": jcoAbove,
    "tour-rust-fs/root": jcoAbove,
    "clock-sleep-c": "The preview1 adapter has no process CPU-time clock (WASI 0.2 has none): clock_gettime(CLOCK_PROCESS_CPUTIME_ID) fails.",
    "yosys-error": jcoTty,
  },
};

export function knownFailure(engine: string, caseId: string, client: "ctr" | "cri"): string | undefined {
  const mine = knownFailures[engine] ?? {};
  return mine[`${caseId}@${client}`] ?? mine[caseId];
}
