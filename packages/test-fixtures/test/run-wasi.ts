import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { WASI } from "node:wasi";
import { fixturePath } from "../src/index.ts";

export interface RunOptions {
  args?: string[];
  env?: Record<string, string>;
  preopens?: Record<string, string>;
  /** Host file read as the guest's stdin. */
  stdin?: string;
}

export interface RunResult {
  /** Exit code, or undefined when the guest trapped. */
  code: number | undefined;
  error: unknown;
  stdout: string;
  stderr: string;
  ms: number;
}

const modules = new Map<string, WebAssembly.Module>();

function compiled(name: string): WebAssembly.Module {
  let mod = modules.get(name);
  if (!mod)
    modules.set(name, (mod = new WebAssembly.Module(readFileSync(isAbsolute(name) ? name : fixturePath(name)))));
  return mod;
}

/** Runs a fixture (by name) or any module (by absolute path) on this thread under node:wasi, capturing stdout and stderr through temp files. */
export async function runWasi(name: string, options: RunOptions = {}): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), "wasi-run-"));
  const fds = {
    stdin: options.stdin === undefined ? openSync("/dev/null", "r") : openSync(options.stdin, "r"),
    stdout: openSync(join(dir, "stdout"), "w"),
    stderr: openSync(join(dir, "stderr"), "w"),
  };
  const wasi = new WASI({
    version: "preview1",
    args: [name, ...(options.args ?? [])],
    env: options.env ?? {},
    preopens: options.preopens ?? {},
    returnOnExit: true,
    ...fds,
  });
  const instance = new WebAssembly.Instance(compiled(name), wasi.getImportObject() as WebAssembly.Imports);
  const started = performance.now();
  let code: number | undefined;
  let error: unknown;
  try {
    code = wasi.start(instance);
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - started;
  for (const fd of Object.values(fds)) closeSync(fd);
  const result = {
    code,
    error,
    stdout: readFileSync(join(dir, "stdout"), "utf8"),
    stderr: readFileSync(join(dir, "stderr"), "utf8"),
    ms,
  };
  await rm(dir, { recursive: true });
  return result;
}
