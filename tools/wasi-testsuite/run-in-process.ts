// Runs one suite test on node:wasi with shim-core's preview1 layer, outside any container, given
// exactly what the reference runner gives wasmtime: the test's env and nothing else, and a `/`
// preopen only when the test names a root folder (a private copy: the suite folder is read-only).
// It shows what the layer itself reaches; the container adds its PATH and always preopens `/`.
//
//   node run-in-process.ts SPEC-JSON   (as a script: runs the module, exits with its status)
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { WasiTest } from "./discover.ts";

interface Spec {
  wasm: string;
  args: string[];
  env: Record<string, string>;
  root: string | undefined;
}

export interface InProcessResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The module was still running after the time limit, and was killed. */
  timedOut: boolean;
}

const self = fileURLToPath(import.meta.url);

/** Runs `test` in a child process (a blocked guest can only be ended from outside its thread). */
export function runInProcess(test: WasiTest, timeoutMs = 30_000): InProcessResult {
  const work = mkdtempSync(join(tmpdir(), "wasi-in-process-"));
  try {
    let root: string | undefined;
    if (test.root) {
      root = join(work, "root");
      cpSync(test.root, root, { recursive: true });
    }
    const spec: Spec = { wasm: test.wasm, args: [`${test.name}.wasm`, ...test.args], env: test.env, root };
    const out = join(work, "stdout");
    const err = join(work, "stderr");
    const fds = [openSync("/dev/null", "r"), openSync(out, "w"), openSync(err, "w")];
    const r = spawnSync(process.execPath, ["--no-warnings", self, JSON.stringify(spec)], {
      stdio: fds,
      timeout: timeoutMs,
      env: {},
    });
    for (const fd of fds) closeSync(fd);
    return {
      exitCode: r.status,
      stdout: readFileSync(out, "utf8"),
      stderr: readFileSync(err, "utf8"),
      timedOut: r.signal !== null,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === self) {
  const spec = JSON.parse(process.argv[2]!) as Spec;
  const { runPreview1Module } = await import("@wasm-shims/shim-core/src/wasm/preview1/run.ts");
  try {
    const code = await runPreview1Module(new Uint8Array(readFileSync(spec.wasm)), {
      args: spec.args,
      env: spec.env,
      preopens: spec.root ? { "/": spec.root } : {},
      stdin: 0,
      stdout: 1,
      stderr: 2,
    });
    process.exit(code);
  } catch (err) {
    // As the runner does: a trap is 128 + SIGABRT.
    process.stderr.write(`wasm trap: ${(err as Error).message}\n`);
    process.exit(err instanceof WebAssembly.RuntimeError ? 134 : 1);
  }
}
