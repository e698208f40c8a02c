import { criConformance } from "@wasm-shims/test-lab";

criConformance({ engine: "node" });
