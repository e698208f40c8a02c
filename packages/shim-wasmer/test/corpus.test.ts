import { corpusConformance } from "@wasm-shims/test-lab";

corpusConformance({ engine: "wasmer" });
