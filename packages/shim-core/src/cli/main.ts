import type { Engine } from "../wasm/engine.ts";
import { RUN_WASM_FLAG } from "../wasm/runner-spec.ts";
import { parseFlags, SPARE_ACTION } from "./flags.ts";
import { fail, runLifecycleAction } from "./lifecycle.ts";
import { isBundleThread } from "../sea/sea.ts";
import { shimRevision, shimVersion } from "../sea/version.ts";

/**
 * The whole shim binary: containerd's `start`/`delete`/daemon contract, `-v`, `-info`, and the
 * in-container runner. Each action imports only its own code: every container pays for `start`,
 * and the runner, and none of them needs the Task service or the protobuf tables.
 */
export function runShim(engine: Engine): void {
  if (isBundleThread()) {
    import("../wasm/runner.ts").then((r) => r.runGuestWorker(engine), fail);
    return;
  }
  const argv = process.argv.slice(2);
  if (argv[0] === RUN_WASM_FLAG) {
    import("../wasm/runner.ts").then((r) => r.runWasm(argv.slice(1), engine), fail);
    return;
  }
  // Subcommands for people; containerd always puts flags before its action word.
  if (argv[0] === "install" || argv[0] === "uninstall") {
    const action = argv[0];
    import("../install/command.ts").then((m) => m.installCommand(engine.name, action, argv.slice(1)), fail);
    return;
  }
  const flags = parseFlags(argv);
  const binary = `containerd-shim-${engine.name}-v1`;
  if (flags.version) {
    process.stdout.write(
      `${binary}:\n  Version: ${shimVersion}\n  Revision: ${shimRevision}\n  Engine: ${engine.version}\n  Node: ${process.version}\n`,
    );
    return;
  }
  if (flags.info) {
    import("./info.ts").then((m) => process.stdout.write(m.runtimeInfo(engine.name, shimVersion, shimRevision)), fail);
    return;
  }
  const loadTracedStart = () => import("../telemetry/start-span.ts").then((m) => m.tracedStart);
  if (runLifecycleAction(engine.name, flags, { loadTracedStart, loadRunc: () => import("../runc/runc.ts") })) return;
  switch (flags.action) {
    case "serve":
      // What the host's loader mapped for this executable (the runner's files), asked for while the
      // daemon loads its code: without the native helper it is `ld.so --list`, a child on the other
      // core, which the first Create would otherwise wait for.
      import("../wasm/host-libs.ts").then((m) => m.hostRuntime().catch(() => {}), fail);
      import("./daemon.ts").then((m) => m.serve(flags, engine)).catch(fail);
      return;
    case SPARE_ACTION:
      import("./spare.ts").then((m) => m.runSpare(flags, engine)).catch(fail);
      return;
    default:
      fail(
        `${binary}: unknown action "${flags.action}"; containerd runs this binary as \`${binary} [flags] start|delete\``,
      );
  }
}
