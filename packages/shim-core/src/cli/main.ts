import { create, toBinary } from "@bufbuild/protobuf";
import { writeSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { RuntimeInfoSchema } from "../gen/containerd/types/introspection_pb.ts";
import type { Engine } from "../engine.ts";
import { RUN_WASM_FLAG } from "../oci/runner-spec.ts";
import { runGuestWorker, runWasm } from "../runner/runner.ts";
import { serve } from "./daemon.ts";
import { deleteAction } from "./delete.ts";
import { parseFlags } from "./flags.ts";
import { start } from "./start.ts";
import { installCommand } from "../install/command.ts";

declare const __SHIM_VERSION__: string | undefined;
declare const __SHIM_REVISION__: string | undefined;
export const shimVersion = typeof __SHIM_VERSION__ === "string" ? __SHIM_VERSION__ : "0.0.0-dev";
export const shimRevision = typeof __SHIM_REVISION__ === "string" ? __SHIM_REVISION__ : "unknown";

function fail(err: unknown): never {
  // For `start`, containerd shows this text as the reason the shim failed.
  writeSync(2, `${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

/** The whole shim binary: containerd's `start`/`delete`/daemon contract, `-v`, `-info`, and the in-container runner. */
export function runShim(engine: Engine): void {
  if (!isMainThread) {
    runGuestWorker(engine);
    return;
  }
  const argv = process.argv.slice(2);
  if (argv[0] === RUN_WASM_FLAG) return runWasm(argv.slice(1));
  // Subcommands for people; containerd always puts flags before its action word.
  if (argv[0] === "install" || argv[0] === "uninstall") return installCommand(engine.name, argv[0], argv.slice(1));
  const flags = parseFlags(argv);
  const binary = `containerd-shim-${engine.name}-v1`;
  if (flags.version) {
    process.stdout.write(`${binary}:\n  Version: ${shimVersion}\n  Revision: ${shimRevision}\n  Engine: ${engine.version}\n  Node: ${process.version}\n`);
    return;
  }
  if (flags.info) {
    const info = create(RuntimeInfoSchema, { name: `io.containerd.${engine.name}.v1`, version: { version: shimVersion, revision: shimRevision } });
    process.stdout.write(toBinary(RuntimeInfoSchema, info));
    return;
  }
  switch (flags.action) {
    case "start":
      start(flags).then(() => process.exit(0), fail);
      return;
    case "delete":
      deleteAction(flags, engine.name).then((bytes) => {
        writeSync(1, bytes);
        process.exit(0);
      }, fail);
      return;
    case "serve":
      serve(flags, engine).catch(fail);
      return;
    default:
      fail(`${binary}: unknown action "${flags.action}"; containerd runs this binary as \`${binary} [flags] start|delete\``);
  }
}
