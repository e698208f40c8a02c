import { exported, type Instance } from "../run.ts";
import { IMAGE_IMPORT_MODULE, IMAGE_IMPORT_NAME, rewriteMemory, type MemoryImage } from "./core-image.ts";

/** A transpiled component's core modules, compiled once and shared by every worker thread. */
export interface CoreModules {
  modules: Record<string, WebAssembly.Module>;
  images: Record<string, MemoryImage>;
}

/** Compiles the core modules among the transpiled component's files (they reach the runner as bytes). */
export async function loadCoreModules(files: Record<string, Uint8Array>): Promise<CoreModules> {
  const modules: Record<string, WebAssembly.Module> = {};
  const images: Record<string, MemoryImage> = {};
  for (const [name, bytes] of Object.entries(files).filter(([n]) => n.endsWith(".wasm"))) {
    const rewritten = rewriteMemory(bytes);
    modules[name] = await WebAssembly.compile((rewritten?.module ?? bytes) as Uint8Array<ArrayBuffer>);
    if (rewritten) images[name] = rewritten.image;
  }
  return { modules, images };
}

const PAGE = 65536;

/** Memories of finished instances, reset to the image for the next one (pages stay mapped). */
export class MemoryBank {
  readonly #image: MemoryImage;
  readonly #keep: number;
  readonly #free: WebAssembly.Memory[] = [];
  constructor(image: MemoryImage, keep: number) {
    this.#image = image;
    this.#keep = keep;
  }
  take(): WebAssembly.Memory {
    const image = this.#image;
    const reused = this.#free.pop();
    if (reused) {
      new Uint8Array(reused.buffer).set(image.pristine);
      return reused;
    }
    const memory = new WebAssembly.Memory(
      image.maximumPages === undefined
        ? { initial: image.initialPages }
        : { initial: image.initialPages, maximum: image.maximumPages },
    );
    const bytes = new Uint8Array(memory.buffer);
    for (const run of image.runs) bytes.set(image.pristine.subarray(run.start, run.end), run.start);
    return memory;
  }
  /** Only a memory that did not grow can pass for a fresh one. */
  give(memory: WebAssembly.Memory): void {
    if (memory.buffer.byteLength === this.#image.initialPages * PAGE && this.#free.length < this.#keep)
      this.#free.push(memory);
  }
}

export type Handle = (request: unknown, responseOut: unknown) => unknown;

export interface Live {
  handle: Handle;
  /** Hands the instance's memories on; the instance must never run again. */
  retire(): void;
}

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
) => Promise<Instance> | Instance;

/** Makes instances of one component on this thread, synchronously. */
export function instanceFactory(
  instantiate: Instantiate,
  imports: Record<string, unknown>,
  core: CoreModules,
  keepMemories: number,
): () => Live {
  const names = new Map<WebAssembly.Module, string>(Object.entries(core.modules).map(([n, m]) => [m, n]));
  const banks = new Map<string, MemoryBank>(
    Object.entries(core.images).map(([n, image]) => [n, new MemoryBank(image, keepMemories)]),
  );
  return () => {
    const taken: [MemoryBank, WebAssembly.Memory][] = [];
    const instance = instantiate(
      (name) => core.modules[name]!,
      imports,
      (module, moduleImports) => {
        const bank = banks.get(names.get(module) ?? "");
        if (!bank) return new WebAssembly.Instance(module, moduleImports);
        const memory = bank.take();
        taken.push([bank, memory]);
        return new WebAssembly.Instance(module, {
          ...moduleImports,
          [IMAGE_IMPORT_MODULE]: { [IMAGE_IMPORT_NAME]: memory },
        });
      },
    );
    if (instance instanceof Promise) throw new Error("jco: the component did not instantiate synchronously");
    const handle = exported(instance, "wasi:http/incoming-handler")?.handle as Handle | undefined;
    if (!handle) throw new Error("the component does not export wasi:http/incoming-handler.handle");
    return {
      handle,
      retire() {
        for (const [bank, memory] of taken.splice(0)) bank.give(memory);
      },
    };
  };
}
