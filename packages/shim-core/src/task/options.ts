import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import type { Any } from "@bufbuild/protobuf/wkt";
import { OptionsSchema as RuncOptionsSchema } from "../gen/wire/containerd/runc/v1/options.ts";
import { OptionsSchema as RuntimeOptionsSchema } from "../gen/wire/runtimeoptions/v1/options.ts";
import { decode as decodeWire } from "../wire/codec.ts";
import { invalidArgument } from "../errors.ts";
import { defaultOptions, type RuntimeOptions } from "./default-options.ts";

export { defaultOptions, type RuntimeOptions };

/**
 * The handful of `key = value` lines CRI serializes from a runtime's options table. A full TOML
 * parser is not needed for flat keys, and anything else is ignored rather than rejected.
 */
export function parseFlatToml(text: string): Record<string, string | boolean | number> {
  const out: Record<string, string | boolean | number> = {};
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    const m = /^([A-Za-z0-9_.-]+)\s*=\s*(.+)$/.exec(line);
    if (!m) continue;
    const value = m[2]!.trim();
    if (value === "true" || value === "false") out[m[1]!] = value === "true";
    else if (/^-?\d+$/.test(value)) out[m[1]!] = Number(value);
    else if (/^(".*"|'.*')$/.test(value)) out[m[1]!] = value.slice(1, -1);
  }
  return out;
}

function fromToml(text: string): RuntimeOptions {
  const t = parseFlatToml(text);
  const opts: RuntimeOptions = { ...defaultOptions, systemdCgroup: t.SystemdCgroup === true };
  if (typeof t.BinaryName === "string" && t.BinaryName) opts.runcBinary = t.BinaryName;
  if (typeof t.Root === "string" && t.Root) opts.runcRoot = t.Root;
  return opts;
}

/** A runtime options file is a few lines of TOML; anything larger is not one. */
export const MAX_OPTIONS_FILE = 1 << 20;

/**
 * Reads the file only if it is a regular file of sane size: /dev/zero would fill the daemon's
 * memory, and a FIFO nobody writes would block its only thread.
 */
function readOptionsFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw new Error("not a regular file");
    if (s.size > MAX_OPTIONS_FILE) throw new Error(`${s.size} bytes, more than ${MAX_OPTIONS_FILE}`);
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

function decode<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw invalidArgument(`cannot decode the runtime options (${what}): ${(err as Error).message}`);
  }
}

/** Decodes CreateTaskRequest.options: runc-style options or CRI's runtimeoptions.v1 (TOML inline or by path). */
export function parseRuntimeOptions(any: Any | undefined): RuntimeOptions {
  if (!any || !any.typeUrl) return { ...defaultOptions };
  const type = any.typeUrl.replace(/^.*\//, "");
  if (type === "containerd.runc.v1.Options") {
    const o = decode(type, () => decodeWire(RuncOptionsSchema, any.value));
    const opts: RuntimeOptions = { runcBinary: o.binaryName || "runc", systemdCgroup: o.systemdCgroup };
    if (o.root) opts.runcRoot = o.root;
    return opts;
  }
  if (type === "runtimeoptions.v1.Options") {
    const o = decode(type, () => decodeWire(RuntimeOptionsSchema, any.value));
    if (o.configBody.length > 0) return fromToml(new TextDecoder().decode(o.configBody));
    if (o.configPath) {
      try {
        return fromToml(readOptionsFile(o.configPath));
      } catch (err) {
        throw invalidArgument(`runtime options file ${o.configPath}: ${(err as Error).message}`);
      }
    }
    return { ...defaultOptions };
  }
  return { ...defaultOptions };
}
