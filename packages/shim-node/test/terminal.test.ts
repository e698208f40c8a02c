import { criTerminalConformance, terminalConformance } from "@wasm-shims/test-lab";

terminalConformance({ engine: "node" });
criTerminalConformance({ engine: "node" });
