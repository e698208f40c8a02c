import { Wasmer, type WasmerOptions } from "@wasmer/sdk/node";
// The SDK's own DOM-shaped worker over node:worker_threads (not exported; the version is pinned):
// the first worker starts before the SDK does, so this module builds it from the same class.
import { NodeWorkerAdapter } from "../node_modules/@wasmer/sdk/dist/node-worker-adapter.js";
import { installHostFs } from "./host-fs.ts";
import { compileGuestsLazily, compileSdkRuntime } from "./compile.ts";
import { reportFailures } from "./worker-failures.ts";

/** A host directory the guest sees at `guest`, read from and written to live through Node's fs. */
export interface HostMount {
  guest: string;
  host: string;
  readOnly: boolean;
}

// Mount ids are unique in the process, and each SDK worker learns every mount known when it starts:
// the SDK may pool its workers beyond one client, and one runner process runs one guest anyway.
const roots: Record<number, string> = {};
let lastId = 0;
// The guest hook is a module of its own (bundled as an asset in the executable), loaded by URL.
const hookUrl = new URL("./guest-hook.ts", import.meta.url).href;
// What the SDK names as its worker's entry (`setWorkerUrl`) and as the glue a worker imports when
// told to start (`setSDKUrl`): the same files, so the same assets and the same modules.
const sdkWorkerUrl = new URL("../node_modules/@wasmer/sdk/dist/node-worker.js", import.meta.url).href;
const sdkGlueUrl = new URL("../node_modules/@wasmer/sdk/pkg/wasmer_sdk_js.js", import.meta.url).href;

/**
 * Removes Node's lazy `Request` and `Response` globals from this thread. wasm-bindgen's start-up
 * asks `typeof Request` and `typeof Response` (to tell a fetch from bytes), and reading either
 * loads undici, 36 ms here, in the runner and again in every SDK worker; the SDK is given bytes
 * and a compiled module, never a fetch, and its sandboxes have no network. Self-contained: it is
 * also evaluated in each worker.
 */
export function dropFetchClasses(): void {
  const scope = globalThis as { Request?: unknown; Response?: unknown };
  delete scope.Request;
  delete scope.Response;
}

const bootstrap = (workerUrl: string) =>
  "data:text/javascript," +
  encodeURIComponent(
    `(${dropFetchClasses.toString()})();\n` +
      `(${installHostFs.toString()})(${JSON.stringify(roots)});\n` +
      `(await import(${JSON.stringify(hookUrl)})).installGuestHook();\n` +
      // Loaded before the SDK's worker asks for it (an early worker waits for the SDK anyway).
      `await import(${JSON.stringify(sdkGlueUrl)});\n` +
      `await import(${JSON.stringify(workerUrl)});`,
  );

/** The next worker the SDK asks for, already booting (a Node worker takes ~40 ms to start). */
let early: NodeWorkerAdapter | undefined;

/**
 * What wasm-bindgen's `new Worker(url, options)` makes: every SDK worker starts from a small module
 * that first installs the guest hook (guest-hook.ts: the preview1 layer) and the
 * `__wasmerHostFileSystem` bridge, then loads the SDK's own worker. The first is the one started
 * beside the SDK's own start-up.
 */
function SdkWorker(url: string | URL, options?: { name?: string }): NodeWorkerAdapter {
  const worker = early ?? reportFailures(new NodeWorkerAdapter(bootstrap(String(url)), options));
  early = undefined;
  return worker;
}

/**
 * Makes `SdkWorker` the SDK's worker class, which the SDK takes when one is there, and starts the
 * process's first worker now: it boots while the SDK compiles its own module, where it would
 * otherwise start at the guest's spawn.
 */
function installWorkers(): void {
  if ((globalThis as { Worker?: unknown }).Worker === SdkWorker) return;
  Object.defineProperty(globalThis, "Worker", { configurable: true, value: SdkWorker });
  early = reportFailures(new NodeWorkerAdapter(bootstrap(sdkWorkerUrl)));
}

/**
 * The SDK's Node client, its workers started by `SdkWorker`. `mounts` are host directories for the
 * SDK's native mount (`SandboxBuilderCore.mountHost`, which has no public option), for guests the
 * layer cannot serve. `largePackages`: see compileSdkRuntime.
 */
export function hostMountingWasmer(mounts: HostMount[], options: WasmerOptions, largePackages = true): Wasmer {
  const ids = mounts.map((m) => {
    roots[++lastId] = m.host;
    return lastId;
  });
  dropFetchClasses();
  // The SDK also calls the bridge from the thread that creates the sandbox (it checks the cwd there).
  installHostFs(roots);
  installWorkers();
  class HostMountingWasmer extends Wasmer {
    protected static override async initializeCore(opts: WasmerOptions) {
      const client = await super.initializeCore(opts);
      const sandbox = client.sandbox.bind(client);
      client.sandbox = () => {
        const builder = sandbox();
        mounts.forEach((m, i) => builder.mountHost(m.guest, ids[i]!, m.readOnly));
        return builder;
      };
      return client;
    }
  }
  const runtime = compileSdkRuntime(largePackages);
  compileGuestsLazily();
  return new HostMountingWasmer({ ...options, wasm: runtime });
}
