import { constants } from "node:fs";
import { open, lstat, readlink, realpath, type FileHandle } from "node:fs/promises";
import { posix } from "node:path";
import { invalidArgument, notFound } from "../errors.ts";
import { envRecord, type Spec } from "../oci/spec.ts";
import { fileIdentity } from "./file-identity.ts";
import { uncopied } from "./runner-boot.ts";

export type EntrypointKind = "wasm" | "native";

export interface Entrypoint {
  kind: EntrypointKind;
  /** Absolute path as the container sees it. */
  path: string;
  /** The same file on the host. */
  hostPath: string;
  /** The container's root on the host. */
  root: string;
  /** The image's Wasm layer this module is, when it is no file of the rootfs (hostPath is then ""). */
  layer?: {
    digest: string;
    mediaType: string;
    image: string;
    bytes?: Uint8Array<ArrayBuffer>;
    store?: { socket: string; namespace: string };
  };
  /** The export to call instead of `_start` (`module.wasm#function`). */
  exportName?: string;
}

const MAX_SYMLINKS = 40;

/**
 * Resolves a path inside `root` the way the kernel would after chroot: symlinks, absolute or
 * relative, never leave the root. Returns the container path of the final file.
 */
async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  let pending = path.split("/").filter(Boolean);
  let resolved: string[] = [];
  for (let hops = 0; pending.length > 0; ) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = "/" + [...resolved, part].join("/");
    let stat;
    try {
      stat = await lstat(root + candidate);
    } catch {
      return undefined;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS) return undefined;
    const target = await readlink(root + candidate);
    if (target.startsWith("/")) resolved = [];
    pending = [...target.split("/").filter(Boolean), ...pending];
  }
  return "/" + resolved.join("/");
}

async function isRegularFile(root: string, path: string): Promise<boolean> {
  try {
    return (await lstat(root + path)).isFile();
  } catch {
    return false;
  }
}

/** args[0] as execvp would find it inside the container: a path if it has a slash, else $PATH. */
async function locate(root: string, spec: Spec, arg0: string): Promise<string | undefined> {
  const cwd = spec.process?.cwd ?? "/";
  const candidates = arg0.includes("/")
    ? [posix.resolve(cwd, arg0)]
    : (envRecord(spec.process?.env).PATH ?? "/usr/local/bin:/usr/bin:/bin")
        .split(":")
        .map((dir) => posix.resolve(cwd, dir || ".", arg0));
  for (const candidate of candidates) {
    const path = await resolveInRoot(root, candidate);
    if (path && (await isRegularFile(root, path))) return path;
  }
  return undefined;
}

/**
 * Opens `path` (already resolved inside `root`) and checks that the kernel opened that very file.
 * Between resolving and opening, a running container (exec) may have swapped a directory of the
 * path for a symlink: the kernel, on the host, would follow it out of the root.
 */
async function openInRoot(root: string, path: string): Promise<FileHandle> {
  const handle = await open(root + path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (opened !== (await realpath(root)) + path)
      throw invalidArgument(`entrypoint ${path} leads out of the container's root filesystem`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function header(root: string, path: string): Promise<Uint8Array> {
  const handle = await openInRoot(root, path);
  try {
    const buf = new Uint8Array(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The entrypoint's bytes, read from the file resolved inside the container's root and nowhere else. */
export async function readEntrypoint(entry: Entrypoint): Promise<Uint8Array<ArrayBuffer>> {
  const file = await openEntrypoint(entry);
  try {
    return await file.read();
  } finally {
    await file.close();
  }
}

/**
 * The entrypoint opened once: the identity of its file (file-identity.ts; none for a Wasm layer)
 * and its size at once, its bytes on demand.
 */
export interface OpenedEntrypoint {
  identity?: string;
  size: number;
  read(): Promise<Uint8Array<ArrayBuffer>>;
  close(): Promise<void>;
}

/** Opens the file resolved inside the container's root and nowhere else (or takes a Wasm layer's bytes). */
export async function openEntrypoint(entry: Entrypoint): Promise<OpenedEntrypoint> {
  const layer = entry.layer;
  if (layer)
    return {
      size: layer.bytes?.byteLength ?? 0,
      read: async () => {
        if (!layer.bytes)
          throw new Error(`internal: the bytes of Wasm layer ${layer.digest} were already handed to the runner`);
        return layer.bytes;
      },
      close: async () => {},
    };
  const handle = await openInRoot(entry.root, entry.path);
  try {
    const st = await handle.stat({ bigint: true });
    const read = async () => uncopied(await handle.readFile());
    return { identity: fileIdentity(st), size: Number(st.size), read, close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** `\0asm` starts both core modules and components; ELF and `#!` are what execve runs natively. */
export function classifyHeader(bytes: Uint8Array): EntrypointKind | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0x00 && b === 0x61 && c === 0x73 && d === 0x6d) return "wasm";
  if (a === 0x7f && b === 0x45 && c === 0x4c && d === 0x46) return "native";
  if (a === 0x23 && b === 0x21) return "native";
  return undefined;
}

/**
 * Finds and classifies the container's entrypoint. When the file is not Wasm, `imageIsWasm` is
 * asked whether the image's config says architecture wasm: then a native file is an error, not a
 * program to run.
 */
export async function resolveEntrypoint(
  root: string,
  spec: Spec,
  imageIsWasm: () => Promise<boolean> = async () => false,
): Promise<Entrypoint> {
  const arg0 = spec.process?.args?.[0];
  if (!arg0) throw invalidArgument("the container has no process args: the image sets no entrypoint or command");
  const path = await locate(root, spec, arg0);
  if (!path) throw notFound(`entrypoint ${arg0} does not exist in the container's root filesystem`);
  const hostPath = root + path;
  const kind = classifyHeader(await header(root, path));
  if (kind === "wasm") return { kind, path, hostPath, root };
  const imageSaysWasm = await imageIsWasm();
  if (kind === "native" && !imageSaysWasm) return { kind, path, hostPath, root };
  const what = imageSaysWasm
    ? "not a WebAssembly module, though the image's architecture is wasm"
    : "neither a WebAssembly module (\\0asm) nor a native executable (ELF or #!)";
  throw invalidArgument(`entrypoint ${path} is ${what}`);
}
