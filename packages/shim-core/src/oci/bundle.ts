import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { invalidArgument } from "../errors.ts";
import type { Spec } from "./spec.ts";

/** Reads <bundle>/config.json; a missing or malformed spec is the client's mistake, not ours. */
export async function readSpec(bundle: string): Promise<Spec> {
  const path = join(bundle, "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw invalidArgument(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as Spec;
  } catch (err) {
    throw invalidArgument(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The container's root directory on the host: root.path, relative to the bundle unless absolute. */
export function rootfsPath(bundle: string, spec: Spec): string {
  const path = spec.root?.path ?? "rootfs";
  return isAbsolute(path) ? path : join(bundle, path);
}
