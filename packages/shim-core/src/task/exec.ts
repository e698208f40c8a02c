import type { ExecProcessRequest } from "../gen/containerd/task/v2/shim_pb.ts";
import { alreadyExists, invalidArgument } from "../errors.ts";
import type { Logger } from "../log.ts";
import { checkProcess } from "../oci/validate-spec.ts";
import type { Engine } from "../wasm/engine.ts";
import { closeLaunch, type RunnerLaunch } from "../wasm/runner-files.ts";
import type { Container } from "./container.ts";
import { execProcessSpec } from "./exec-plan.ts";
import { checkIdentifier, parseJson } from "./identifiers.ts";
import { TaskProcess } from "./process.ts";
import { checkStdio } from "./stdio.ts";

/**
 * The process an Exec request describes, checked but not yet the container's: the service adds it
 * (after checking the id once more) and tells containerd, so its table and events stay in one place.
 */
export async function newExec(c: Container, req: ExecProcessRequest): Promise<TaskProcess> {
  if (c.execs.has(req.execId)) throw alreadyExists(`id ${req.execId}`);
  c.init.to("exec");
  checkIdentifier(req.execId, "exec id");
  if (!req.spec) throw invalidArgument("exec has no process spec");
  const stdio = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal };
  await checkStdio(stdio);
  const p = new TaskProcess(c.id, req.execId, stdio);
  p.spec = checkProcess(parseJson(req.spec.value, `exec ${req.execId}: process spec`), `exec ${req.execId}: process`);
  // runc reads the terminal from the process; the request is what containerd's runc shim obeys too.
  p.spec.terminal = req.terminal;
  return p;
}

/** Start of an exec: `runc exec` of its plan (through the runner when it names a Wasm module). */
export async function startExec(c: Container, p: TaskProcess, engine: Engine, log: Logger) {
  c.init.to("startExec");
  let runner: RunnerLaunch | undefined;
  try {
    return await p.start(async (size) => {
      const plan = await execProcessSpec(c, p.spec!, engine, log);
      runner = plan.runner;
      return c.execLaunch(p.execId, plan, size);
    });
  } finally {
    // The runner's own fds (its prepared files) are runc's once it started, or nobody's.
    if (runner) closeLaunch(runner);
  }
}
