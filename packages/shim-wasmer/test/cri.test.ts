import { criConformance } from "@wasm-shims/shim-core/testing";

criConformance({ engine: "wasmer" });
