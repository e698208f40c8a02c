import { invalidArgument, isShimError } from "../errors.ts";
import { resolveEntrypoint } from "../oci/entrypoint.ts";
import { hostRuntime } from "../oci/host-libs.ts";
import { runnerProcess } from "../oci/runner-spec.ts";
import { embeddedAssetDirectory } from "../runtime/assets.ts";
import type { Process } from "../oci/spec.ts";
import { prepareModule, type Container } from "./container.ts";
import type { Engine } from "../engine.ts";
import type { Logger } from "../log.ts";

/**
 * What `runc exec` runs. In a Wasm container a command that names a Wasm module runs through the
 * runner, like the entrypoint; a native executable (a static binary the image ships) runs as is;
 * anything else gets a clear error instead of runc's "exec format error".
 */
export async function execProcessSpec(c: Container, spec: Process, engine: Engine, log: Logger): Promise<Process> {
  if (!c.isWasm) return spec;
  try {
    const entry = await resolveEntrypoint(c.rootfs, { ...c.spec, process: spec });
    if (entry.kind === "native") return spec;
    const prepared = await prepareModule(engine, entry, log, spec.cwd);
    return runnerProcess(spec, hostRuntime(), entry.path, prepared.data, embeddedAssetDirectory());
  } catch (err) {
    const why = isShimError(err) ? err.detail : String(err);
    throw invalidArgument(`cannot exec ${spec.args?.[0] ?? "(no args)"} in WebAssembly container ${c.id}: ${why}`);
  }
}
