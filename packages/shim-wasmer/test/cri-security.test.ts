import { criSecurityConformance } from "@wasm-shims/test-lab";

criSecurityConformance({ engine: "wasmer" });
