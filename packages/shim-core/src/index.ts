export { runShim } from "./cli/main.ts";
export { compileCheck, type Engine, type PrepareContext, type Prepared, type RunContext } from "./engine.ts";
export { RUNNER_DIR } from "./oci/runner-spec.ts";
export { ShimError, Code } from "./errors.ts";
export { mainSource } from "./runtime/sea.ts";
