import type { Engine, Prepared } from "./engine.ts";
import { invalidArgument } from "../errors.ts";
import type { Entrypoint } from "./entrypoint.ts";
import { Reader } from "./binary.ts";
import { isComponent } from "./imports.ts";

/** The key in the runner's data under which the chosen export travels (`module.wasm#function`). */
export const EXPORT_DATA_KEY = "wasm-shims:export";
/** Where the runner finds a Wasm layer's bytes among its files (RunContext.files). */
export const LAYER_MODULE_FILE = "wasm-shims:layer-module";

const KINDS = ["function", "table", "memory", "global", "tag"] as const;

/** A core module's exports (name → kind), read from its export section. */
export function moduleExports(bytes: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  if (bytes.length < 8) return out;
  let pos = 8;
  while (pos < bytes.length) {
    const head = new Reader(bytes, pos, bytes.length);
    const id = head.byte();
    const size = head.u32();
    const end = head.pos + size;
    if (id === 7) {
      const r = new Reader(bytes, head.pos, end);
      for (let n = r.u32(); n > 0; n--) {
        const text = r.name();
        const kind = KINDS[r.byte()] ?? "unknown";
        r.u32();
        out.set(text, kind);
      }
      return out;
    }
    pos = end;
  }
  return out;
}

/**
 * Refuses at Create an export the guest cannot be started with: a component (its world says
 * what runs), an engine that always calls `_start`, a name the module does not export as a
 * function. Without a selector there is nothing to check.
 */
export function checkExport(engine: Engine, bytes: Uint8Array, entry: Entrypoint): void {
  if (entry.exportName === undefined) return;
  const component = isComponent(bytes);
  checkExportOf(engine, { component, exports: component ? new Map() : moduleExports(bytes) }, entry);
}

/** checkExport, from what is known of the module: whether it is a component, and its exports. */
export function checkExportOf(
  engine: Engine,
  module: { component: boolean; exports: Map<string, string> },
  entry: Entrypoint,
): void {
  const name = entry.exportName;
  if (name === undefined) return;
  const where = `entrypoint ${entry.path}#${name}`;
  if (module.component)
    throw invalidArgument(
      `${where}: ${entry.path} is a component, whose world decides what runs (wasi:cli/run, wasi:http); an export can be chosen for core modules only`,
    );
  if (!engine.callsExports)
    throw invalidArgument(
      `${where}: the ${engine.name} engine always starts a module at _start and cannot call another export`,
    );
  const kind = module.exports.get(name);
  if (kind !== "function") {
    const functions = [...module.exports].filter(([, k]) => k === "function").map(([n]) => n);
    throw invalidArgument(
      `${where}: the module ${kind ? `exports ${name} as a ${kind}, not a function` : `has no export ${name}`} (its functions: ${functions.join(", ") || "none"})`,
    );
  }
}

/** What `prepare` returned, plus the chosen export for the runner. */
export function withExport(prepared: Prepared, entry: Entrypoint): Prepared {
  return entry.exportName === undefined
    ? prepared
    : { ...prepared, data: { ...prepared.data, [EXPORT_DATA_KEY]: entry.exportName } };
}
