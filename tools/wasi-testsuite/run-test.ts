// Runs one test through one shim with `ctr run --rm` and checks it as the reference runner does:
// the exit code, and each stream the specification names (its first len(payload) characters).
import type { Containerd, CtrResult } from "@wasm-shims/test-lab/containerd.ts";
import type { WasiTest } from "./discover.ts";
import { modulePath } from "./images.ts";

export interface TestResult {
  id: string;
  engine: string;
  pass: boolean;
  /** Why it failed, with the guest's output; "" when it passed. */
  detail: string;
  /** It ran out of time and was killed. */
  timedOut: boolean;
  ms: number;
}

export interface RunOptions {
  ctd: Containerd;
  engine: string;
  imageRef: string;
  timeoutMs: number;
  /** Makes container ids unique across runs sharing a containerd. */
  tag: string;
}

let seq = 0;

const tail = (text: string, max = 400): string => (text.length > max ? `…${text.slice(-max)}` : text).trim();

/** Runs `ctr`, and never throws: a ctr that outlives its bound is reported as such. */
async function ctrNoThrow(ctd: Containerd, args: string[], timeoutMs: number): Promise<CtrResult | Error> {
  try {
    return await ctd.ctr(args, { timeoutMs });
  } catch (err) {
    return err as Error;
  }
}

function check(test: WasiTest, r: CtrResult): string[] {
  const problems: string[] = [];
  if (r.code !== test.exitCode) problems.push(`exit code ${r.code}, expected ${test.exitCode}`);
  for (const [name, want, got] of [
    ["stdout", test.stdout, r.stdout],
    ["stderr", test.stderr, r.stderr],
  ] as const) {
    if (want !== undefined && got.slice(0, want.length) !== want)
      problems.push(`${name} ${JSON.stringify(got.slice(0, 200))}, expected ${JSON.stringify(want)}`);
  }
  return problems;
}

export async function runTest(test: WasiTest, opts: RunOptions): Promise<TestResult> {
  const started = Date.now();
  const result = (pass: boolean, detail: string, timedOut = false): TestResult => ({
    id: test.id,
    engine: opts.engine,
    pass,
    detail,
    timedOut,
    ms: Date.now() - started,
  });
  if (test.unsupported) return result(false, `not run: ${test.unsupported}`);
  const id = `wt-${opts.tag}-${opts.engine}-${test.suite}-${test.name}-${++seq}`.slice(0, 76);
  const args = [
    "run",
    "--rm",
    "--runtime",
    `io.containerd.${opts.engine}.v1`,
    opts.imageRef,
    id,
    modulePath(test),
    ...test.args,
  ];
  const r = await ctrNoThrow(opts.ctd, args, opts.timeoutMs);
  if (r instanceof Error) {
    // The timed-out ctr is dead, but its task may not be.
    // After a kill the daemon exits on the Shutdown that follows Delete; in a full run one jco
    // daemon was seen still there after 10 s (and gone moments later), so wait longer here.
    await opts.ctd.removeContainer(id, { timeoutMs: 30_000 });
    return result(false, `timed out after ${opts.timeoutMs} ms (killed)`, true);
  }
  const problems = check(test, r);
  if (problems.length === 0) return result(true, "");
  // ctr's own complaints (e.g. the shim refused the task) end up on its stderr too.
  const output = [
    r.stderr && `stderr: ${tail(r.stderr)}`,
    r.stdout && test.stdout === undefined ? `stdout: ${tail(r.stdout, 200)}` : "",
  ].filter(Boolean);
  return result(false, [...problems, ...output].join("; "));
}
