import { criIsolation, engineIsolation } from "@wasm-shims/test-lab";

engineIsolation({ engine: "node" });
criIsolation({ engine: "node" });
