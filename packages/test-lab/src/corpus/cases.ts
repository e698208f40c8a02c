import { corpusWorkdir, type CorpusImage } from "@wasm-shims/test-fixtures";
import { args, cwdChdirC, env, envLines, fsTourC, stdinText, tourJs, tourRust } from "./tour-cases.ts";

/**
 * One run of a corpus program: what it is given, and what must hold afterwards besides being
 * identical to the same module run on the host (see reference.ts).
 */
export interface CorpusCase {
  /** e.g. `fs-tour-c/workdir`. */
  id: string;
  program: string;
  args: string[];
  image: CorpusImage;
  /** A working directory set by the client (`ctr run --cwd`, a pod's workingDir) instead of the image's. */
  workingDir?: string;
  env?: Record<string, string>;
  /** Fed to stdin, then end of file: through CRI only (ctr 1.6 never closes a task's stdin). */
  stdin?: string;
  /** A fresh host directory mounted at /data. */
  volume?: boolean;
  exit: number;
  /** Lines stdout must contain. */
  stdout: string[];
  stderr?: string[];
  /** Files the run must leave in the volume, by path under it: exact content, or a RegExp. */
  volumeFiles?: Record<string, string | RegExp>;
  /** A WASI 0.2 component: only jco runs it, and node:wasi cannot be the reference. */
  component?: boolean;
}

/** The working directory a case's guest starts in. */
export const caseCwd = (c: CorpusCase): string => c.workingDir ?? (c.image === "workdir" ? corpusWorkdir : "/");

const yosysScript = (file: string) =>
  `read_verilog ${file}; proc; opt -purge; stat; write_verilog -noattr /data/counter.v`;

export const corpusCases: CorpusCase[] = [
  fsTourC("workdir"),
  fsTourC("root"),
  cwdChdirC("workdir"),
  cwdChdirC("root"),
  cwdChdirC("root", "/app/nested"),
  {
    id: "args-env-c",
    program: "args-env-c",
    args,
    image: "workdir",
    env: { ...env, CORPUS_EXIT: "7" },
    exit: 7,
    stdout: [
      "arg[1]=<two words> (9 bytes)",
      'arg[2]=<a "quoted" arg> (14 bytes)',
      "arg[3]=<it's> (4 bytes)",
      "arg[4]=<ünïcödé ✓> (15 bytes)",
      "arg[5]=<> (0 bytes)",
      "arg[6]=<  padded  > (10 bytes)",
      ...envLines,
      "env <CORPUS_EXIT=7>",
      "PATH is set",
      "terminals: stdin=0 stdout=0 stderr=0",
    ],
    stderr: ["exiting with 7"],
  },
  {
    id: "clock-sleep-c",
    program: "clock-sleep-c",
    args: ["200"],
    image: "workdir",
    exit: 0,
    stdout: [
      "realtime after 2020: yes",
      "nanosleep 200 ms lasted at least that: yes",
      "usleep 200 ms lasted at least that: yes",
    ],
  },
  {
    id: "stdin-count-c",
    program: "stdin-count-c",
    args: [],
    image: "workdir",
    stdin: stdinText,
    exit: 0,
    stdout: ["2: second: ünïcödé", "3: ", "4: last line without newline", "eof after 4 lines, 57 bytes"],
  },
  tourRust("workdir"),
  tourRust("root"),
  {
    id: "tour-rust-args",
    program: "tour-rust",
    args: ["args", ...args],
    image: "workdir",
    env,
    exit: 0,
    stdout: [
      "arg[1]=<two words> (9 chars)",
      'arg[2]=<a "quoted" arg> (14 chars)',
      "arg[4]=<ünïcödé ✓> (9 chars)",
      "arg[5]=<> (0 chars)",
      ...envLines,
    ],
  },
  {
    id: "tour-rust-clock",
    program: "tour-rust",
    args: ["clock", "200"],
    image: "workdir",
    exit: 0,
    stdout: ["wall clock after 2020: true", "slept 200 ms, at least that long: true"],
  },
  {
    id: "tour-rust-stdin",
    program: "tour-rust",
    args: ["stdin"],
    image: "workdir",
    stdin: stdinText,
    exit: 0,
    stdout: ["2: second: ünïcödé", "4: last line without newline", "eof after 4 lines, about 58 bytes"],
  },
  {
    id: "tour-rust-exit",
    program: "tour-rust",
    args: ["exit", "3"],
    image: "workdir",
    exit: 3,
    stdout: [],
    stderr: ["exiting with 3"],
  },
  tourJs("workdir"),
  tourJs("root"),
  {
    id: "tour-js-args",
    program: "tour-js",
    args: ["args", ...args],
    image: "workdir",
    env,
    component: true,
    exit: 0,
    stdout: [
      "arg[1]=<two words> (9 chars)",
      'arg[2]=<a "quoted" arg> (14 chars)',
      "arg[4]=<ünïcödé ✓> (9 chars)",
      ...envLines,
      "initial-cwd: /app",
    ],
  },
  {
    id: "tour-js-clock",
    program: "tour-js",
    args: ["clock", "200"],
    image: "workdir",
    component: true,
    exit: 0,
    stdout: ["wall clock after 2020: true", "slept 200 ms, at least that long: true"],
  },
  {
    id: "tour-js-stdin",
    program: "tour-js",
    args: ["stdin"],
    image: "workdir",
    stdin: stdinText,
    component: true,
    exit: 0,
    stdout: ["2: second: ünïcödé", "4: last line without newline", "eof after 4 lines"],
  },
  // wasi:cli/exit@0.2 carries only ok or err, so a component's non-zero exit is 1.
  {
    id: "tour-js-exit",
    program: "tour-js",
    args: ["exit", "3"],
    image: "workdir",
    component: true,
    exit: 1,
    stdout: ["exiting with 3"],
  },
  {
    id: "yosys",
    program: "yosys",
    args: ["-Q", "-T", "-p", yosysScript("/app/design.v")],
    image: "workdir",
    volume: true,
    exit: 0,
    stdout: ["Generating RTLIL representation for module `\\counter'.", "Successfully finished Verilog frontend."],
    volumeFiles: { "counter.v": /^module counter\(clk, rst, q\);$/m },
  },
  {
    id: "yosys-relative",
    program: "yosys",
    args: ["-Q", "-T", "-p", yosysScript("design.v")],
    image: "workdir",
    volume: true,
    exit: 0,
    stdout: ["Generating RTLIL representation for module `\\counter'."],
  },
  {
    id: "yosys-error",
    program: "yosys",
    args: ["-Q", "-T", "-p", "read_verilog /no/such/file.v"],
    image: "workdir",
    exit: 1,
    stdout: [],
    stderr: ["ERROR: File `/no/such/file.v' not found or is a directory"],
  },
];
