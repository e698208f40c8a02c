import { Wasmer, type WasmerOptions } from "@wasmer/sdk/node";
import { installHostFs } from "./host-fs.ts";

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
const bootstrap = (workerUrl: string) =>
  "data:text/javascript," +
  encodeURIComponent(
    `(${installHostFs.toString()})(${JSON.stringify(roots)});\n` +
      `(await import(${JSON.stringify(hookUrl)})).installGuestHook();\n` +
      `await import(${JSON.stringify(workerUrl)});`,
  );

/**
 * The SDK's Node client, with every SDK worker started from a small module that first installs
 * the guest hook (guest-hook.ts: the preview1 layer) and the `__wasmerHostFileSystem` bridge, then
 * loads the SDK's own worker. `mounts` are host directories for the SDK's native mount
 * (`SandboxBuilderCore.mountHost`, which has no public option), for guests the layer cannot serve.
 */
export function hostMountingWasmer(mounts: HostMount[], options: WasmerOptions): Wasmer {
  const ids = mounts.map((m) => {
    roots[++lastId] = m.host;
    return lastId;
  });
  // The SDK also calls the bridge from the thread that creates the sandbox (it checks the cwd there).
  installHostFs(roots);
  class HostMountingWasmer extends Wasmer {
    protected static override async initializeCore(opts: WasmerOptions) {
      const client = await super.initializeCore(opts);
      // The SDK installs its worker class as a non-writable global; workers start lazily, at the first spawn.
      const Base = (globalThis as unknown as { Worker: new (url: string | URL, o?: object) => object }).Worker;
      if (!Object.hasOwn(Base, "hostMounting")) {
        const Hooked = class extends Base {
          static hostMounting = true;
          constructor(url: string | URL, o?: object) {
            super(bootstrap(String(url)), o);
          }
        };
        Object.defineProperty(globalThis, "Worker", { configurable: true, value: Hooked });
      }
      const sandbox = client.sandbox.bind(client);
      client.sandbox = () => {
        const builder = sandbox();
        mounts.forEach((m, i) => builder.mountHost(m.guest, ids[i]!, m.readOnly));
        return builder;
      };
      return client;
    }
  }
  return new HostMountingWasmer(options);
}
