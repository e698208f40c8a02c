import { criIsolation, engineIsolation } from "@wasm-shims/shim-core/testing";

engineIsolation({ engine: "wasmer" });
criIsolation({ engine: "wasmer" });
