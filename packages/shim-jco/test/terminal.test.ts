import { criTerminalConformance, terminalConformance } from "@wasm-shims/shim-core/testing";

terminalConformance({ engine: "jco" });
criTerminalConformance({ engine: "jco" });
