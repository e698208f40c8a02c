import { criTerminalConformance, terminalConformance } from "@wasm-shims/test-lab";

terminalConformance({ engine: "wasmer" });
criTerminalConformance({ engine: "wasmer" });
