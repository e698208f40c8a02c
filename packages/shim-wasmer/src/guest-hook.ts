import { readConfig } from "./run-config.ts";
import { type Fn, preview1Layer } from "./wasi/preview1.ts";

const PREVIEW1 = "wasi_snapshot_preview1";

/**
 * Runs first in every SDK worker (see sdk.ts). The SDK instantiates the guest with
 * `new WebAssembly.Instance(module, imports)` in its worker, handing it the preview1 functions its
 * runtime implements; for a module the engine prepared (it carries a run config), this puts the
 * preview1 layer between the two. Everything else the SDK instantiates passes untouched.
 */
export function installGuestHook(): void {
  const Instance = WebAssembly.Instance;
  if ((Instance as { guestHook?: true }).guestHook) return;
  const Hooked = new Proxy(Instance, {
    get: (target, key, receiver) => (key === "guestHook" ? true : Reflect.get(target, key, receiver)),
    construct(target, args: unknown[], newTarget) {
      const [module, imports] = args as [WebAssembly.Module, WebAssembly.Imports | undefined];
      const config = module instanceof WebAssembly.Module ? readConfig(module) : undefined;
      const base = imports?.[PREVIEW1] as Record<string, Fn> | undefined;
      if (!config || !imports || !base) return Reflect.construct(target, args, newTarget);
      let memory = Object.values(imports.env ?? {}).find((v) => v instanceof WebAssembly.Memory);
      const layer = preview1Layer(base, () => memory ?? noMemory(), config);
      const instance = Reflect.construct(target, [module, { ...imports, [PREVIEW1]: layer.imports }], newTarget) as WebAssembly.Instance;
      memory ??= instance.exports.memory as WebAssembly.Memory | undefined;
      return instance;
    },
  });
  Object.defineProperty(WebAssembly, "Instance", { configurable: true, writable: true, value: Hooked });
}

function noMemory(): never {
  throw new RangeError("the guest exports no memory");
}
