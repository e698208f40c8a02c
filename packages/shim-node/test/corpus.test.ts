import { corpusConformance } from "@wasm-shims/shim-core/testing";

corpusConformance({ engine: "node" });
