import { engineConformance } from "@wasm-shims/shim-core/testing";

engineConformance({ engine: "wasmer" });
