import { terminalConformance } from "@wasm-shims/shim-core/testing";

terminalConformance({ engine: "wasmer" });
