import { criTerminalConformance, terminalConformance } from "@wasm-shims/test-lab";

terminalConformance({ engine: "jco" });
criTerminalConformance({ engine: "jco" });
