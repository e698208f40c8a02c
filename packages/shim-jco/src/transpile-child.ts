import { selfCommand } from "@wasm-shims/shim-core";
import { transpileModule, type Transpiled } from "./transpile.ts";

/** The first argument that makes this executable a transpiler for one job; main.ts checks it. */
export const TRANSPILE_FLAG = "--transpile-jco-component";

interface Job {
  component: Uint8Array;
  path: string;
}

type Answer = { ok: Transpiled } | { error: string };

/**
 * Transpiles in a process of its own that exits with the job. jco-transpile compiles ~6 MB of wasm
 * and works in tens of MB of heap. Done in the daemon, that memory stayed for the daemon's (the
 * pod's) whole life: about 70 MB of anonymous memory in every daemon that ever transpiled, and a
 * worker thread gave back only a third of it (glibc's per-thread arenas and V8 keep the rest).
 * Only a cache miss pays the extra start of the executable.
 */
export function transpileInChild(component: Uint8Array, path: string): Promise<Transpiled> {
  const cmd = selfCommand([TRANSPILE_FLAG]);
  // Loaded here, in the daemon that transpiles: a runner would pay 7 ms to load it at its start.
  const { spawn } = process.getBuiltinModule("node:child_process");
  const child = spawn(cmd.file, cmd.args, { stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "advanced" });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise<Transpiled>((resolve, reject) => {
    child.once("message", (msg: Answer) => ("ok" in msg ? resolve(msg.ok) : reject(new Error(msg.error))));
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(
        new Error(
          `jco: the transpiler exited (${signal ?? code}) without an answer${stderr ? `: ${stderr.trim()}` : ""}`,
        ),
      ),
    );
    child.send({ component, path } satisfies Job);
  }).finally(() => child.kill("SIGKILL"));
}

/** The transpiler process: one job from its parent, one answer, then it exits. */
export function runTranspileChild(): void {
  // A daemon that died (SIGKILL) wants no answer: stop at once rather than finish for nobody.
  process.once("disconnect", () => process.exit(1));
  process.once("message", (job: Job) => {
    void transpileModule(job.component, job.path)
      .then(
        (ok): Answer => ({ ok: { ...ok, pid: process.pid } }),
        (err: unknown): Answer => ({ error: err instanceof Error ? err.message : String(err) }),
      )
      .then((answer) => process.send!(answer, () => process.exit(0)));
  });
}
