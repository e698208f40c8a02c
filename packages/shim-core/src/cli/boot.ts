import { isBundleThread } from "../sea/sea.ts";
import { tracingEnabled } from "../telemetry/tracing.ts";
import { RUN_WASM_FLAG } from "../wasm/runner-spec.ts";
import { parseFlags } from "./flags.ts";
import { runLifecycleAction } from "./lifecycle.ts";

/**
 * The executable's main script. V8 scans all of a script's source when it compiles it, 10 ms for
 * node's 0.7 MB bundle and 20 ms for jco's 1.9 MB, and containerd boots the executable for `start`
 * and `delete` around every container. Those two run from this small script; every other use
 * (the daemon, the runner, `-v`, install) compiles and runs the whole bundle, `loadBundle`, and so
 * do the two when they need what this script leaves out: a traced `start`, or a `delete` that
 * finds runc's state (its daemon died), which starts over in the bundle.
 */
export function boot(engine: string, loadBundle: () => void): void {
  const argv = process.argv.slice(2);
  if (!isBundleThread() && argv[0] !== RUN_WASM_FLAG && !tracingEnabled()) {
    const flags = parseFlags(argv);
    const inBundle = () => {
      loadBundle();
      // The bundle runs the whole action again and exits; this one waits for nothing.
      return new Promise<never>(() => {});
    };
    if (!flags.version && !flags.info && runLifecycleAction(engine, flags, { loadRunc: inBundle })) return;
  }
  loadBundle();
}
