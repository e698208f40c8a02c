import { readFileSync } from "node:fs";
import { embeddedBytes, setV8Flags } from "@wasm-shims/shim-core";

/**
 * The index (imports counted) of SHA-256's block function in the pinned SDK's runtime. The SDK
 * hashes every package it makes, the guest's module included, in one call of that function. V8
 * compiles a Wasm function with Liftoff first and moves it to TurboFan only at a later call (it
 * has no on-stack replacement for Wasm), so that one call ran in Liftoff: 1.4 s of a 31 MB
 * module's start, 0.2 s in TurboFan. test/unit/compile.test.ts finds the function by its
 * rotations and fails when an SDK upgrade moves it.
 */
export const SHA256_BLOCKS_FUNCTION = 347;

/** The SDK's runtime (also read by the test that checks the function's index). */
export const sdkRuntimeFile = new URL("../node_modules/@wasmer/sdk/pkg/wasmer_sdk_js_bg.wasm", import.meta.url);

/**
 * The SDK's runtime. It is the executable's own asset, so it is compiled with V8's lazy validation:
 * each function is validated as it is first compiled, and starting the SDK and running a guest
 * calls a small part of its 4.7 MB. Validating all of it first took 17 ms more of the runner's
 * thread and about 25 ms more CPU (ad hoc, on the test machine; docs/architecture.md).
 * `largePackages`: the SDK will hash a package the size of the guest's module (a WASIX guest's,
 * which it packages itself; a preview1 guest's is a stand-in, stand-in.ts), so its SHA-256 block
 * function is compiled optimized from its first call.
 */
export function compileSdkRuntime(largePackages = true): WebAssembly.Module {
  const bytes = embeddedBytes(sdkRuntimeFile) ?? readFileSync(sdkRuntimeFile);
  return compileTrusted(bytes, largePackages ? SHA256_BLOCKS_FUNCTION : -1);
}

/**
 * `bytes`, a module that is known to be valid, compiled with lazy validation and with function
 * `tierUp` (or none, -1) optimized at its first call. V8 reads both flags as it compiles, and both
 * are unset again after this compile:
 * - with `--wasm-eager-tier-up-function` still set, an asynchronous compile never settles (Node
 *   24's V8), and the guest's module, compiled later in the SDK's worker, must not be touched;
 * - any V8 flag left changed costs Node the code cache of every module it loads afterwards (the
 *   SDK worker's). The guest's compile sets lazy validation for good, later
 *   (compileGuestsLazily). A function of this module compiled while the flag is unset is still
 *   validated; only a failure would abort the process instead of throwing.
 */
export function compileTrusted(bytes: Uint8Array<ArrayBuffer>, tierUp = -1): WebAssembly.Module {
  setV8Flags(`--wasm-lazy-validation --wasm-eager-tier-up-function=${tierUp}`);
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    setV8Flags("--no-wasm-lazy-validation --wasm-eager-tier-up-function=-1");
  }
}

const Module = WebAssembly.Module;

/** The guest's module the SDK is to have when it compiles the stand-in it packaged instead. */
let substitute: { standIn: Buffer; real: () => WebAssembly.Module } | undefined;
let substitutions = 0;

/** How many times the SDK compiled a stand-in and got a guest's own module (for tests). */
export const guestSubstitutions = (): number => substitutions;

/** From now on, the SDK compiling `standIn` gets the module of `realBytes` (compiled once, then). */
export function substituteGuest(standIn: Uint8Array, realBytes: Uint8Array<ArrayBuffer>): void {
  let real: WebAssembly.Module | undefined;
  substitute = {
    standIn: Buffer.from(standIn.buffer, standIn.byteOffset, standIn.byteLength),
    real: () => (real ??= new WebAssembly.Module(realBytes)),
  };
}

function isStandIn(source: BufferSource | undefined): boolean {
  if (!substitute || !source) return false;
  const bytes = ArrayBuffer.isView(source)
    ? Buffer.from(source.buffer, source.byteOffset, source.byteLength)
    : Buffer.from(source);
  return bytes.byteLength === substitute.standIn.byteLength && bytes.equals(substitute.standIn);
}

/**
 * From now on, a module the SDK compiles (the guest's, as the SDK spawns it: 80 ms for a 31 MB
 * module) is compiled with V8's lazy validation, each function validated as it is first
 * compiled rather than all before the guest may start (25 ms). Create has validated the guest.
 * The flag is set at that first compile, after the runner and the SDK have loaded, and stays
 * set, as in shim-core's runPreview1: with it unset, a function that fails its validation when
 * first called aborts the process instead of throwing a CompileError. The SDK spawns a
 * preview1 guest from a stand-in (stand-in.ts); what it compiles then is the guest's real module.
 */
export function compileGuestsLazily(): void {
  if (WebAssembly.Module !== Module) return;
  const LazilyValidated = new Proxy(Module, {
    construct(target, args: [BufferSource], newTarget) {
      setV8Flags("--wasm-lazy-validation");
      if (isStandIn(args[0])) {
        substitutions++;
        return substitute!.real();
      }
      return Reflect.construct(target, args, newTarget) as object;
    },
  });
  Object.defineProperty(WebAssembly, "Module", { configurable: true, writable: true, value: LazilyValidated });
}
