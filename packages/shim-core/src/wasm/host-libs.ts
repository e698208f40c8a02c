import { closeSync, openSync, readSync, realpathSync } from "node:fs";
import { execFile } from "node:child_process";
import { native } from "../sea/native.ts";

/** Exactly the files a container needs to run this very binary with the host's dynamic loader. */
export interface HostRuntime {
  /** The executable itself (a single-file Node application), resolved to a real file. */
  binary: string;
  /** The loader (PT_INTERP), resolved to a real file. */
  loader: string;
  /** Every shared library the loader maps for the binary, in the loader's order, resolved to real files. */
  libs: string[];
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  return buf;
}

/** Reads PT_INTERP from an ELF64 little-endian executable without loading the whole file. */
export function elfInterpreter(file: string): string | undefined {
  const fd = openSync(file, "r");
  try {
    const eh = readAt(fd, 0, 64);
    if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
    const phoff = Number(eh.readBigUInt64LE(0x20));
    const phentsize = eh.readUInt16LE(0x36);
    const phnum = eh.readUInt16LE(0x38);
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== 3) continue;
      const interp = readAt(fd, Number(ph.readBigUInt64LE(at + 8)), Number(ph.readBigUInt64LE(at + 32)));
      return interp.toString("latin1").replace(/\0.*$/s, "");
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The libraries in an `ld.so --list` listing (`name => /path (0x…)` lines), resolved to real
 * files; the loader itself and the vDSO have no `=>`. A library the loader cannot find is an error.
 */
export function listedLibraries(listing: string, loader: string): string[] {
  const missing = [...listing.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]);
  if (missing.length > 0) throw new Error(`the host's loader cannot find ${missing.join(", ")}`);
  return realLibraries(
    [...listing.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!),
    loader,
  );
}

function realLibraries(paths: string[], loader: string): string[] {
  return [...new Set(paths.map((p) => realpathSync(p)))].filter((lib) => lib !== loader);
}

/**
 * The running executable's libraries, as its loader mapped them (native/loaded_libraries.c): what
 * `ld.so --list` would say, without a child process. Undefined for another binary, or without the
 * native helper.
 */
function mappedLibraries(binary: string, loader: string): string[] | undefined {
  if (binary !== process.execPath) return undefined;
  try {
    return realLibraries(native().loadedLibraries(), loader);
  } catch {
    return undefined;
  }
}

let listing: { for: string; runtime: Promise<HostRuntime> } | undefined;

/**
 * Discovers the loader and the exact library files of `binary` from the loader itself, so the
 * result is right on any glibc distribution and architecture: for the running executable, the
 * list it mapped as this process started; for another binary (or without the native helper),
 * `ld.so --list`, a child process that does not block (10-25 ms of CPU, which a daemon in a burst
 * of pods paid on its pod's path). Once per binary; a failure is for the Create that asks, and
 * the next one tries again.
 */
export function hostRuntime(binary = process.execPath): Promise<HostRuntime> {
  if (listing?.for === binary) return listing.runtime;
  const runtime = new Promise<HostRuntime>((resolve, reject) => {
    const interp = elfInterpreter(binary);
    if (!interp) throw new Error(`${binary} is not a dynamically linked ELF64 executable`);
    const loader = realpathSync(interp);
    const mapped = mappedLibraries(binary, loader);
    if (mapped) return resolve({ binary: realpathSync(binary), loader, libs: mapped });
    execFile(loader, ["--list", binary], { encoding: "utf8" }, (err, out) => {
      if (err) return reject(err);
      try {
        resolve({ binary: realpathSync(binary), loader, libs: listedLibraries(out, loader) });
      } catch (e) {
        reject(e);
      }
    });
  });
  listing = { for: binary, runtime };
  runtime.catch(() => {
    if (listing?.runtime === runtime) listing = undefined;
  });
  return runtime;
}
