import { criIsolation, engineIsolation } from "@wasm-shims/shim-core/testing";
import { commandName } from "../src/engine.ts";

// The SDK's own file system shows its package layout: the guest's command (its own module) in
// /bin and /usr/bin, and an empty /bin/wasmer. None of it comes from the host.
const engineFiles = (path: string) => ["/bin/wasmer", `/bin/${commandName(path)}`, `/usr/bin/${commandName(path)}`];
engineIsolation({ engine: "wasmer", argv0: commandName, engineFiles });
criIsolation({ engine: "wasmer", argv0: commandName, engineFiles });
