import { engineConformance } from "@wasm-shims/test-lab";

engineConformance({ engine: "node" });
