import { engineConformance } from "@wasm-shims/shim-core/testing";
import { commandName } from "../src/engine.ts";

// The SDK allows no "/" in argv[0]: a guest sees the base name of the path the image gives.
// Reading a FIFO fails with EIO (host-fs.ts reads at an offset; see README), so no guest blocks on one.
engineConformance({ engine: "wasmer", argv0: commandName, readsFifos: false });
