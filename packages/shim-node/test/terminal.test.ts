import { criTerminalConformance, terminalConformance } from "@wasm-shims/shim-core/testing";

terminalConformance({ engine: "node" });
criTerminalConformance({ engine: "node" });
