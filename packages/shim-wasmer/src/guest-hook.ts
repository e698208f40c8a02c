import { BroadcastChannel } from "node:worker_threads";
import { compactHeap, pollWaits, SUBSCRIPTION_SIZE } from "@wasm-shims/shim-core/worker";
import { relayedUtimensat } from "./native-relay.ts";
import { CHANNEL, readConfig } from "./run-config.ts";
import { type Fn, type Layer, preview1Layer } from "./wasi/preview1.ts";

const PREVIEW1 = "wasi_snapshot_preview1";
/**
 * When a worker compacts the heap that starting the SDK's runtime grew: a worker the SDK keeps
 * beside the guest's for its timers (a WASIX guest's sleeps; a preview1 guest sleeps on its own
 * thread, wasi/sleep.ts) idles, and the guest's own worker compacts at its first long wait
 * (settleOnLongWaits) or here, if its guest ever leaves the thread free.
 */
const SETTLE_MS = 5_000;
const layers = new Map<string, Layer[]>();
let channel: BroadcastChannel | undefined;

function track(run: string, layer: Layer): void {
  if (!channel) {
    channel = new BroadcastChannel(CHANNEL);
    channel.unref();
    channel.onmessage = (ev) => {
      const run = (ev.data as { done?: string } | undefined)?.done;
      if (run === undefined) return;
      for (const l of layers.get(run) ?? []) l.close();
      layers.delete(run);
    };
  }
  layers.set(run, [...(layers.get(run) ?? []), layer]);
}

/**
 * Runs first in every SDK worker (see sdk.ts). The SDK instantiates the guest with
 * `new WebAssembly.Instance(module, imports)` in its worker, handing it the preview1 functions its
 * runtime implements; for a module the engine prepared (it carries a run config), this puts the
 * preview1 layer between the two. Everything else the SDK instantiates passes untouched. The
 * layer's host fds are closed when the engine says the run is over (a guest that returns from
 * _start never calls anything that would tell us).
 */
export function installGuestHook(): void {
  const Instance = WebAssembly.Instance;
  if ((Instance as { guestHook?: true }).guestHook) return;
  setTimeout(compactHeap, SETTLE_MS).unref();
  const Hooked = new Proxy(Instance, {
    get: (target, key, receiver) => (key === "guestHook" ? true : Reflect.get(target, key, receiver)),
    construct(target, args: unknown[], newTarget) {
      const [module, imports] = args as [WebAssembly.Module, WebAssembly.Imports | undefined];
      const config = module instanceof WebAssembly.Module ? readConfig(module) : undefined;
      const base = imports?.[PREVIEW1] as Record<string, Fn> | undefined;
      if (!config || !imports || !base) return Reflect.construct(target, args, newTarget);
      let memory = Object.values(imports.env ?? {}).find((v) => v instanceof WebAssembly.Memory);
      const layer = preview1Layer(base, () => memory ?? noMemory(), config, relayedUtimensat(config.run));
      track(config.run, layer);
      const instance = Reflect.construct(
        target,
        [module, { ...imports, [PREVIEW1]: settleOnLongWaits(layer.imports, () => memory) }],
        newTarget,
      ) as WebAssembly.Instance;
      memory ??= instance.exports.memory as WebAssembly.Memory | undefined;
      return instance;
    },
  });
  Object.defineProperty(WebAssembly, "Instance", { configurable: true, writable: true, value: Hooked });
}

/**
 * The guest holds this SDK worker's thread, so its first long wait (a sleep, a server's wait for
 * input) is when this worker's heap, grown by starting the SDK's runtime, is compacted.
 */
export function settleOnLongWaits(
  imports: Record<string, Fn>,
  memory: () => WebAssembly.Memory | undefined,
  settle: () => void = compactHeap,
): Record<string, Fn> {
  const poll = imports.poll_oneoff;
  if (!poll) return imports;
  let settled = false;
  const subscriptions = (ptr: number, n: number) => {
    const buffer = memory()?.buffer;
    const len = n * SUBSCRIPTION_SIZE;
    return buffer && ptr >= 0 && len >= 0 && ptr + len <= buffer.byteLength
      ? new Uint8Array(buffer, ptr, len)
      : undefined;
  };
  return {
    ...imports,
    poll_oneoff: (inPtr: number, outPtr: number, n: number, nevents: number) => {
      if (!settled && pollWaits(subscriptions(inPtr, n))) {
        settled = true;
        settle();
      }
      return poll(inPtr, outPtr, n, nevents);
    },
  };
}

function noMemory(): never {
  throw new RangeError("the guest exports no memory");
}
