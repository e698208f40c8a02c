import { criNetworkConformance } from "@wasm-shims/test-lab";

criNetworkConformance({ engine: "node" });
