import { invalidArgument, isShimError } from "../errors.ts";
import { resolveEntrypoint } from "../wasm/entrypoint.ts";
import { runnerProcess } from "../wasm/runner-spec.ts";
import type { Process } from "../oci/spec.ts";
import { launchLayout, type RunnerLaunch } from "../wasm/runner-files.ts";
import type { Container } from "./container.ts";
import { prepareModule, runnerLaunch } from "../wasm/prepare.ts";
import type { Engine } from "../wasm/engine.ts";
import type { Logger } from "../log.ts";

export interface ExecPlan {
  process: Process;
  /** Set when the command runs through the runner: what `runc exec` hands it. */
  runner?: RunnerLaunch;
}

/**
 * What `runc exec` runs. In a Wasm container a command that names a Wasm module runs through the
 * runner, like the entrypoint, with its own prepared files and nothing mounted; a native
 * executable (a static binary the image ships) runs as is; anything else gets a clear error
 * instead of runc's "exec format error".
 */
export async function execProcessSpec(c: Container, spec: Process, engine: Engine, log: Logger): Promise<ExecPlan> {
  if (!c.isWasm) return { process: spec };
  try {
    const entry = await resolveEntrypoint(c.rootfs, { ...c.spec, process: spec });
    if (entry.kind === "native") return { process: spec };
    const { prepared, moduleBytes } = await prepareModule(engine, entry, log, spec.cwd);
    const runner = await runnerLaunch(prepared);
    return { process: runnerProcess(spec, launchLayout(runner), entry.path, prepared.data, moduleBytes), runner };
  } catch (err) {
    const why = isShimError(err) ? err.detail : String(err);
    throw invalidArgument(`cannot exec ${spec.args?.[0] ?? "(no args)"} in WebAssembly container ${c.id}: ${why}`);
  }
}
