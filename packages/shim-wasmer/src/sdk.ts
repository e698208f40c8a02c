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
const bootstrap = (workerUrl: string) =>
  "data:text/javascript," + encodeURIComponent(`(${installHostFs.toString()})(${JSON.stringify(roots)});\nawait import(${JSON.stringify(workerUrl)});`);

/**
 * The SDK's Node client with real host directories. The SDK has a native-mount hook
 * (`SandboxBuilderCore.mountHost`) but no public option for it, and its Node workers do not install
 * the `__wasmerHostFileSystem` bridge that hook calls. So: each sandbox builder gets the mounts, and
 * each SDK worker starts from a small module that installs the bridge before loading the real one.
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
