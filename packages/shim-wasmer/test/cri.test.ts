import { criConformance } from "@wasm-shims/shim-core/testing";
import { commandName } from "../src/engine.ts";

criConformance({ engine: "wasmer", argv0: commandName });
