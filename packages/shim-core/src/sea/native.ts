// Loads the shim's native helper (packages/shim-core/native/shim_native.c), the one place that
// knows where it is. The URL is a literal so tools/sea-assets.mjs embeds the file in every
// executable; from a single executable it is extracted with the other assets (in a Wasm container:
// the host's copy, handed over as a read-only fd, so the runner loads it before the guest runs:
// see runner.ts), from TypeScript source it is read from the package's dist.
import { closeSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fdPath, runnerLayoutFromEnv } from "../wasm/runner-layout.ts";
import { getSystemErrorName } from "node:util";
import { bootAddon, loadAddon } from "./boot-addon.ts";

/** A time for utimensat: nanoseconds since the epoch, or one of these. */
export const UTIME_NOW = -1n;
export const UTIME_OMIT = -2n;

export interface NativeAddon {
  exit(code: number): never;
  exitOnSignals(signals: number[]): void;
  setChildSubreaper(): void;
  reap(pid: number): number;
  pipe(): [number, number];
  /** 0 or an errno. */
  utimensat(path: string, atime: bigint, mtime: bigint, nofollow: boolean): number;
  consoleListen(path: string): number;
  consoleReceive(fd: number): number;
  setWinsize(fd: number, rows: number, cols: number): number;
  closeFd(fd: number): number;
  mallocTrim(): number;
  openReadOnlyMount(path: string): number;
  /** 0 or an errno. */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  /** 0 or an errno. */
  umount(target: string, flags: number): number;
  externalLatin1(buffer: ArrayBuffer): string;
  setV8Flags(flags: string): boolean;
  loadedLibraries(): string[];
}

export interface Native {
  /** _exit(2): ends the process at once, whatever its threads are blocked in. */
  exit(code: number): never;
  /**
   * Makes each of these signals end the process at once with 128+signal (a native handler that
   * calls _exit(2)), whatever the JS thread is doing. A later process.on(signal) replaces it.
   */
  exitOnSignals(signals: readonly number[]): void;
  /** A pipe (both ends close-on-exec): [read end, write end]. */
  pipe(): [number, number];
  /** Sets a file's times to the nanosecond; throws an Error with `code` (e.g. "ENOENT") and `errno`. */
  utimensat(path: string, atime: bigint, mtime: bigint, opts?: { nofollow?: boolean }): void;
  /** A listening unix socket at `path` for runc's --console-socket; returns its fd. */
  consoleListen(path: string): number;
  /** The pty master runc sent over the console socket `fd` listens on; never blocks (EAGAIN: nothing sent). */
  consoleReceive(fd: number): number;
  /** TIOCSWINSZ on a pty master. */
  setWinsize(fd: number, rows: number, cols: number): void;
  closeFd(fd: number): void;
  /** glibc's malloc_trim(0): free heap pages go back to the kernel; whether any did (false without glibc). */
  mallocTrim(): boolean;
  /**
   * `path` opened through a detached read-only bind mount of it (Linux 5.12): in no mount table,
   * gone with its last fd; a reopen for writing through /proc is EROFS. Throws with `code`.
   */
  openReadOnlyMount(path: string): number;
  /** mount(2) (null: no source, type or data); throws an Error with `code` (e.g. "EINVAL"). */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(2); throws an Error with `code` ("EINVAL": nothing mounted there, "EBUSY"). */
  umount(target: string, flags: number): void;
  /** Orphaned descendants (a detached container's init) become this process's children. */
  setChildSubreaper(): void;
  /** A child's exit code (128+signal when killed) once it has ended, -1 while it runs or is not ours. */
  reap(pid: number): number;
  /** V8's SetFlagsFromString; false when this Node's V8 does not export it (see v8-flags.ts). */
  setV8Flags(flags: string): boolean;
  /** The libraries the loader mapped for this executable as it started, by the paths it found (the loader too). */
  loadedLibraries(): string[];
}

let loaded: Native | undefined;
let failure: Error | undefined;

/** The helper's file on the host, for the daemon to hand to runners; undefined if there is none. */
export function nativeAddonFile(): string | undefined {
  try {
    const file = fileURLToPath(new URL("../../dist/native/shim-native.node", import.meta.url));
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

function dlopenAddon(): NativeAddon {
  // In a runner, the host's copy comes as an fd of its own (runner-layout.ts); releaseNativeFile closes it.
  const fd = runnerLayoutFromEnv()?.native;
  const file =
    fd !== undefined ? fdPath(fd) : fileURLToPath(new URL("../../dist/native/shim-native.node", import.meta.url));
  try {
    return loadAddon(file);
  } catch (err) {
    throw new Error(
      `cannot load the shim's native helper ${file} (build packages/shim-core first): ${(err as Error).message}`,
    );
  }
}

function load(): Native {
  const addon = bootAddon() ?? dlopenAddon();
  return {
    exit: (code) => addon.exit(code),
    exitOnSignals: (signals) => addon.exitOnSignals([...signals]),
    setChildSubreaper: () => addon.setChildSubreaper(),
    reap: (pid) => addon.reap(pid),
    pipe: () => addon.pipe(),
    utimensat(path, atime, mtime, opts = {}) {
      const errno = addon.utimensat(path, atime, mtime, opts.nofollow ?? false);
      if (errno === 0) return;
      throw errnoError(-errno, `utimensat ${path}`);
    },
    consoleListen: (path) => fdOrThrow(addon.consoleListen(path), `listen on ${path}`),
    consoleReceive: (fd) => fdOrThrow(addon.consoleReceive(fd), "receive the console from runc"),
    setWinsize: (fd, rows, cols) => okOrThrow(addon.setWinsize(fd, rows, cols), "set the window size"),
    closeFd: (fd) => okOrThrow(addon.closeFd(fd), `close fd ${fd}`),
    mallocTrim: () => addon.mallocTrim() === 1,
    setV8Flags: (flags) => addon.setV8Flags(flags),
    loadedLibraries: () => addon.loadedLibraries(),
    openReadOnlyMount: (path) => fdOrThrow(addon.openReadOnlyMount(path), `open ${path} on a read-only mount`),
    mount(source, target, fstype, flags, data) {
      const errno = addon.mount(source, target, fstype, flags, data);
      if (errno !== 0) throw errnoError(-errno, `mount ${target}`);
    },
    umount(target, flags) {
      const errno = addon.umount(target, flags);
      if (errno !== 0) throw errnoError(-errno, `umount ${target}`);
    },
  };
}

/** An Error as Node's own carry them: `code` ("ENOENT") and a negative `errno`. */
function errnoError(errno: number, what: string): Error {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`${code}: ${what}`), { code, errno });
}

function fdOrThrow(rc: number, what: string): number {
  if (rc < 0) throw errnoError(rc, what);
  return rc;
}

function okOrThrow(errno: number, what: string): void {
  if (errno !== 0) throw errnoError(-errno, what);
}

/**
 * Closes a runner's fd of the helper once every thread that needs it has loaded it (the runner's
 * main thread and the guest's worker, each its own dlopen): the guest must not reach it later.
 */
export function releaseNativeFile(): void {
  const fd = runnerLayoutFromEnv()?.native;
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {}
}

/** The helper, loaded on first use; throws (every time) when it cannot be loaded. */
export function native(): Native {
  if (loaded) return loaded;
  if (failure) throw failure;
  try {
    return (loaded = load());
  } catch (err) {
    throw (failure = err as Error);
  }
}
