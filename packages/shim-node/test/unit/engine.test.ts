import { engineSuite } from "@wasm-shims/shim-core/testing";
import { nodeEngine } from "../../src/engine.ts";

engineSuite(nodeEngine);
