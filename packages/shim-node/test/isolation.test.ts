import { criIsolation, engineIsolation } from "@wasm-shims/shim-core/testing";

engineIsolation({ engine: "node" });
criIsolation({ engine: "node" });
