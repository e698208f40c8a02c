export { runShim } from "./cli/main.ts";
export { compileCheck, type Engine, type PrepareContext, type Prepared, type RunContext } from "./engine.ts";
export { ShimError, Code } from "./errors.ts";
