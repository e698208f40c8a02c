import { criTerminalConformance, terminalConformance } from "@wasm-shims/shim-core/testing";

terminalConformance({ engine: "wasmer" });
criTerminalConformance({ engine: "wasmer" });
