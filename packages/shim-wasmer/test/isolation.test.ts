import { criIsolation, engineIsolation } from "@wasm-shims/test-lab";

engineIsolation({ engine: "wasmer" });
criIsolation({ engine: "wasmer" });
