// shim-core's engine-facing testing export: what an engine package's unit tests need, nothing end-to-end.
export { engineSuite } from "./engine-suite.ts";
export { checkModule, runGuest, type GuestOptions, type GuestRun } from "./in-process.ts";
