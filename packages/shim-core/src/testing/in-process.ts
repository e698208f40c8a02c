import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { patchCwd } from "../wasm/cwd-patch.ts";
import { compileCheck, type Engine } from "../wasm/engine.ts";
import { checkImports } from "../wasm/imports.ts";

/** How a guest ended (its exit status, or what `run` threw: a trap is a WebAssembly.RuntimeError) and what it wrote. */
export type GuestRun = ({ code: number } | { error: Error }) & { stdout: string; stderr: string };

export interface GuestOptions {
  /** Where the module is read from unless `module` is given, and its path in errors. */
  path: string;
  /** argv[0], as the image gives it; default `path`. */
  argv0?: string;
  module?: Uint8Array<ArrayBuffer>;
  args?: string[];
  env?: Record<string, string>;
  /** An absolute host directory: the host's `/` is the guest's, as the container's root is in a runner. */
  cwd?: string;
  /** The guest's whole stdin; none: /dev/null. */
  stdin?: string;
  /** RunContext.onWait: what the runner does when the guest settles down to wait. */
  onWait?: () => void;
}

/** Create's checks on the host, as shim-core's prepareModule makes them: the engine's validation and its imports. */
export async function checkModule(engine: Engine, module: Uint8Array<ArrayBuffer>, path: string): Promise<void> {
  await (engine.validate ?? compileCheck)(module, path);
  await checkImports(engine, module, path);
}

/**
 * Runs a guest in this process the way Create and the runner do (checks, prepare, the prepared
 * files read into bytes, the working directory patched in, load, run), with stdio on temporary
 * files. What the checks or `prepare` throw rejects; what `load` or `run` throw is returned.
 */
export async function runGuest(engine: Engine, opts: GuestOptions): Promise<GuestRun> {
  const bytes = opts.module ?? new Uint8Array(await readFile(opts.path));
  await checkModule(engine, bytes, opts.path);
  const digest = createHash("sha256").update(bytes).digest("hex");
  const prepared = (await engine.prepare?.({ module: bytes, path: opts.path, digest, log: () => {} })) ?? {};
  const files: Record<string, Uint8Array> = {};
  for (const [name, file] of Object.entries(prepared.files ?? {})) files[name] = new Uint8Array(await readFile(file));
  const cwd = opts.cwd ?? "/";
  const { module } = patchCwd(bytes, cwd);
  const io = openStdio(opts.stdin);
  try {
    const ctx = {
      path: opts.path,
      module,
      args: [opts.argv0 ?? opts.path, ...(opts.args ?? [])],
      env: opts.env ?? {},
      cwd,
      ...io.fds,
      data: prepared.data ?? {},
      files,
      ...(opts.onWait ? { onWait: opts.onWait } : {}),
    };
    try {
      await engine.load?.(ctx);
      const code = await engine.run(ctx);
      return { code, ...io.read() };
    } catch (err) {
      return { error: err as Error, ...io.read() };
    }
  } finally {
    io.close();
    // This process plays the daemon too: the next run's checkModule must validate eagerly, as
    // the daemon does. The runner sets lazy validation for its one guest and never unsets it.
    setFlagsFromString("--no-wasm-lazy-validation");
  }
}

/** stdin from a file holding `input`, stdout and stderr to files, all in one temporary directory. */
export function openStdio(input?: string) {
  const dir = mkdtempSync(join(tmpdir(), "engine-stdio-"));
  const inFile = join(dir, "stdin");
  if (input !== undefined) writeFileSync(inFile, input);
  const fds = {
    stdin: openSync(input === undefined ? "/dev/null" : inFile, "r"),
    stdout: openSync(join(dir, "stdout"), "w"),
    stderr: openSync(join(dir, "stderr"), "w"),
  };
  let open = true;
  return {
    fds,
    read: () => ({
      stdout: readFileSync(join(dir, "stdout"), "utf8"),
      stderr: readFileSync(join(dir, "stderr"), "utf8"),
    }),
    close() {
      if (!open) return;
      open = false;
      for (const fd of Object.values(fds)) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
