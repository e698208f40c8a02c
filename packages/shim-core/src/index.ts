export { runShim } from "./cli/main.ts";
export { compileCheck, type Engine, type PrepareContext, type Prepared, type RunContext } from "./wasm/engine.ts";
export { ShimError, Code } from "./errors.ts";
export { isBundleThread, mainSource, selfCommand, THREAD_ARGV } from "./sea/sea.ts";
export { refuseContainerModules } from "./wasm/runner-layout.ts";
export { PREVIEW1_IMPORTS } from "./wasm/preview1/functions.ts";
export { runPreview1 } from "./wasm/preview1/run.ts";
export { setV8Flags } from "./sea/v8-flags.ts";
export { embeddedBytes } from "./sea/assets.ts";
export { roomAfter } from "./wasm/runner-boot.ts";
export { IDLE_WAIT_NS } from "./wasm/preview1/wait.ts";
export { checkImports, isComponent, moduleImports, type ProvidedImports } from "./wasm/imports.ts";
export {
  isCoreModule,
  Reader,
  SECTION,
  WasmFormatError,
  readSections,
  u32 as encodeU32,
  writeModule,
  type Section,
} from "./wasm/binary.ts";
