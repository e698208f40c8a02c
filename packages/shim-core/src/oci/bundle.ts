import { constants } from "node:fs";
import { lstat, open, stat } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { invalidArgument } from "../errors.ts";
import type { Spec } from "./spec.ts";
import { checkSpec } from "./validate-spec.ts";

/** containerd's own limit on a gRPC message, and so on any spec it can have written. */
export const MAX_SPEC_BYTES = 16 << 20;

/**
 * The bundle directory a Create names: an absolute, clean path to a real directory (not a symlink
 * that would carry the shim's writes and the rootfs mount somewhere else).
 */
export async function checkBundle(bundle: string): Promise<void> {
  if (!isAbsolute(bundle) || posix.normalize(bundle) !== bundle || bundle.endsWith("/") || bundle.includes("\0")) {
    throw invalidArgument(`bundle ${JSON.stringify(bundle.slice(0, 256))} is not a clean absolute path`);
  }
  const stat = await lstat(bundle).catch(() => undefined);
  if (!stat?.isDirectory()) throw invalidArgument(`bundle ${bundle} is not a directory`);
  const rootfs = await lstat(join(bundle, "rootfs")).catch(() => undefined);
  if (rootfs && !rootfs.isDirectory()) throw invalidArgument(`${join(bundle, "rootfs")} is not a directory`);
}

/**
 * Reads <bundle>/config.json; a missing or malformed spec is the client's mistake, not ours. Only a
 * regular file is opened (a FIFO or /dev/zero would hang or exhaust the daemon), and only as UTF-8.
 */
export async function readSpec(bundle: string): Promise<Spec> {
  const path = join(bundle, "config.json");
  let bytes: Buffer;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error("not a regular file");
      if (stat.size > MAX_SPEC_BYTES)
        throw new Error(`${stat.size} bytes, more than the ${MAX_SPEC_BYTES} a spec may have`);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw invalidArgument(`cannot read ${path}: ${(err as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw invalidArgument(`${path} is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return checkSpec(value, path);
}

/** Without rootfs mounts, root.path must already be the container's root filesystem. */
export async function checkRootDirectory(rootfs: string): Promise<void> {
  const s = await stat(rootfs).catch(() => undefined);
  if (!s) throw invalidArgument(`the root filesystem ${rootfs} does not exist`);
  if (!s.isDirectory()) throw invalidArgument(`the root filesystem ${rootfs} is not a directory`);
}

/** The container's root directory on the host: root.path, relative to the bundle unless absolute. */
export function rootfsPath(bundle: string, spec: Spec): string {
  const path = spec.root?.path ?? "rootfs";
  return isAbsolute(path) ? path : join(bundle, path);
}
