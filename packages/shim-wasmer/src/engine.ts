import { type Engine, roomAfter, type RunContext } from "@wasm-shims/shim-core";
import { createReadStream, fstatSync, writeSync } from "node:fs";
import { BroadcastChannel } from "node:worker_threads";
import type { Readable } from "node:stream";
import { importModules } from "./imports.ts";
import { serveNative } from "./native-relay.ts";
import { guestRoot } from "./rootfs.ts";
import { CHANNEL, withConfig } from "./run-config.ts";
import { standIn } from "./stand-in.ts";
import { substituteGuest } from "./compile.ts";
import { onWorkerFailure } from "./worker-failures.ts";
import { FILETYPE } from "./wasi/abi.ts";
import type { LayerConfig } from "./wasi/preview1.ts";

/** Pinned in package.json; test/engine.test.ts keeps them in step. */
export const SDK_VERSION = "0.16.0";
/** What a process the SDK reports as terminated or timed out exits with: 128 + SIGKILL. */
const KILLED = 137;

/**
 * Guest paths the guest does not see: the kernel's views of the runner process and the host
 * (/proc, /sys: as under the SDK's own root, which has neither). Nothing of the runner's own is
 * in the container's file system to hide (docs/architecture.md).
 */
export const HIDDEN = ["/proc", "/sys"];

/**
 * The container's root as `/`, and nothing else: a `.` preopen would take absolute paths too
 * (wasi-libc strips both names to ""). The runner patches the working directory into the module.
 */
export function preopens(): LayerConfig["preopens"] {
  return [{ name: "/", path: "/" }];
}

/**
 * Whether the preview1 layer serves this module's files. It does for WASI preview1 modules; a
 * module that also imports WASIX (or wasi-threads, or the older wasi_unstable) makes its own fds
 * through calls the layer does not know, and keeps the SDK's file system.
 */
export function layerServes(module: Uint8Array): boolean {
  const own = new Set(["wasix_32v1", "wasix_64v1", "wasi", "wasi_unstable"]);
  return ![...importModules(module)].some((m) => own.has(m));
}

/**
 * What the guest's fds 0, 1 and 2 are: a character device when the container's is a terminal,
 * otherwise UNKNOWN, as wasmtime says for non-terminal stdio. The guest's stdio are the SDK's
 * pipes, copied to and from the container's, so a FIFO, a file or /dev/null there is none of
 * those to the guest (it cannot seek or poll them as such); the SDK itself calls all three
 * character devices, which wasi-libc's isatty() takes for a terminal.
 */
export function stdioTypes(fds: readonly number[]): number[] {
  return fds.map((fd) => (isTerminal(fd) ? FILETYPE.CHARACTER_DEVICE : FILETYPE.UNKNOWN));
}

/** The kernel's "mem" devices (/dev/null, /dev/zero, …), which a runner's stdin often is; never a terminal. */
const MEM_MAJOR = 1;

/**
 * isatty(3), asking node:tty only about a character device that may be a terminal: loading it
 * loads node:net too, about 10 ms of a runner's start on the test machine, and a container's
 * stdio is mostly FIFOs, pipes and /dev/null.
 */
function isTerminal(fd: number): boolean {
  let st: ReturnType<typeof fstatSync>;
  try {
    st = fstatSync(fd);
  } catch {
    return false;
  }
  if (!st.isCharacterDevice() || ((st.rdev >>> 8) & 0xfff) === MEM_MAJOR) return false;
  return process.getBuiltinModule("node:tty").isatty(fd);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `chunk` to a blocking or non-blocking fd. Unlike shim-jco's writeAll, which throws
 * so the guest stops as a native process would on SIGPIPE, this drops the output when the reader
 * is gone: the guest wrote into the SDK's pipe long before, so no error can reach it, and a pump
 * that stopped draining would leave it blocked on a full pipe.
 */
function writeAll(fd: number, chunk: Uint8Array): void {
  for (let off = 0; off < chunk.length; ) {
    try {
      off += writeSync(fd, chunk, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
      Atomics.wait(sleeper, 0, 0, 5);
    }
  }
}

async function pump(from: AsyncIterable<Uint8Array> | null, fd: number): Promise<void> {
  if (from) for await (const chunk of from) writeAll(fd, chunk);
}

/** Tells the SDK workers a run is over, so the layer closes the files its guest left open. */
function ended(run: string): void {
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ done: run });
  channel.close();
}

class WorkerFailure extends Error {
  constructor(message: string) {
    super(`the wasmer SDK's worker failed: ${message}`);
  }
}

/** The SDK reports a trap as a rejected wait() whose message carries the engine's RuntimeError. */
function asTrap(err: unknown): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  const trap = /RuntimeError: (?:js: )?([^\n]*)/.exec(msg);
  return trap ? new WebAssembly.RuntimeError(trap[1]) : err;
}

/**
 * Names a run for the SDK workers' channel, which reaches this process's threads only. Not a UUID:
 * node:crypto would cost every runner 10 ms to load.
 */
let runs = 0;

/** Starts the SDK and makes the guest's package: all that reads the runner's own files. */
async function loadGuest(ctx: RunContext) {
  const files = layerServes(ctx.module);
  const stdio = stdioTypes([ctx.stdin, ctx.stdout, ctx.stderr]);
  const config: LayerConfig = {
    args: ctx.args,
    root: "/",
    preopens: preopens(),
    hidden: HIDDEN,
    files,
    run: `${process.pid}.${++runs}`,
    stdio,
  };
  // The SDK's own file system is what a guest the layer cannot serve sees: the container's
  // top-level directories mounted live, top-level files copied (rootfs.ts).
  const root = files ? { mounts: [], files: {} } : guestRoot();
  // The SDK and what it loads (node:crypto, node:net, node:dns, 140 kB of glue) only here, in the
  // runner: every other boot of the executable (the daemon, a spare, `start`) never uses it.
  const { hostMountingWasmer } = await import("./sdk.ts");
  const wasmer = hostMountingWasmer(root.mounts, { cache: false }, !files);
  // The SDK would name argv[0] after the command (and allows only [A-Za-z0-9._+-] there); the
  // guest hook answers args_get with the image's argv instead, argv[0] as given.
  const command = "main";
  const module = withConfig(ctx.module, config, roomAfter(ctx.module));
  // A preview1 guest is packaged as its stand-in; a WASIX guest, whose threads the SDK may start
  // by compiling the packaged bytes in workers of its own, as it is.
  const packaged = files ? standIn(ctx.module) : module;
  if (files) substituteGuest(packaged, module);
  const pkg = await wasmer.packages.create({
    modules: { guest: packaged },
    commands: { [command]: { module: "guest" } },
    files: root.files,
  });
  return { wasmer, pkg, config };
}

/** What load prepared for run: one runner process runs one guest. */
type Guest = Awaited<ReturnType<typeof loadGuest>>;
let loaded: Guest | undefined;

/** Runs the guest in a sandbox of its own, its stdio copied to and from the container's. */
async function runGuest(ctx: RunContext, { wasmer, pkg, config }: Guest): Promise<number> {
  let stopWatching = () => {};
  const failed = new Promise<never>((_, reject) => {
    stopWatching = onWorkerFailure((message) => reject(new WorkerFailure(message)));
  });
  // Raced at every step below; a failure before the first must not count as unhandled.
  failed.catch(() => {});
  try {
    const sandbox = await Promise.race([
      wasmer.sandboxes.create({ packages: [pkg], network: { mode: "disabled" } }),
      failed,
    ]);
    const opts = config.files ? { env: ctx.env } : { env: ctx.env, cwd: ctx.cwd };
    const proc = await Promise.race([
      sandbox.command(pkg, ctx.args.slice(1), opts).spawn({ stdin: "pipe", stdout: "pipe", stderr: "pipe" }),
      failed,
    ]);
    feedStdin(ctx.stdin, proc.stdin);
    const output = Promise.all([pump(proc.stdout, ctx.stdout), pump(proc.stderr, ctx.stderr)]);
    let result;
    try {
      result = await Promise.race([proc.wait(), failed]);
    } catch (err) {
      // The SDK's pipes never end when its worker is gone: the guest's output is as far as it got,
      // and the failure is the SDK's, not a trap of the guest's whatever its message says.
      if (err instanceof WorkerFailure) throw err;
      await output;
      throw asTrap(err);
    }
    await output;
    return result.reason === "exited" ? result.exitCode : KILLED;
  } finally {
    stopWatching();
  }
}

/**
 * @wasmer/sdk: WASIX in the SDK's own runtime. A preview1 guest's files are the container's,
 * through the layer in the SDK worker (src/wasi/); a WASIX guest's come through live host mounts
 * (see rootfs.ts). stdio is piped through the SDK and copied to the container's fds as it arrives.
 */
export const wasmerEngine: Engine = {
  name: "wasmer",
  version: `@wasmer/sdk ${SDK_VERSION}`,
  // What the SDK provides: WASI preview1 and WASIX, 32- and 64-bit.
  imports: { wasi_snapshot_preview1: "*", wasix_32v1: "*", wasix_64v1: "*" },
  // The SDK reads its own .wasm (an embedded asset) when it starts: before the runner closes its files.
  async load(ctx: RunContext) {
    loaded = await loadGuest(ctx);
  },
  async run(ctx: RunContext) {
    const guest = loaded ?? (await loadGuest(ctx));
    loaded = undefined;
    // The layer in the SDK worker sets file times through this thread's native helper.
    const stopServing = guest.config.files ? serveNative(guest.config.run) : () => {};
    try {
      return await runGuest(ctx, guest);
    } finally {
      // This thread stops listening first: a message it received would make Node load undici for
      // its MessageEvent, 36 ms on the way to the container's exit (sdk.ts, dropFetchClasses).
      stopServing();
      ended(guest.config.run);
    }
  },
};

/**
 * A pipe or socket is read through the event loop: a read blocked in libuv's thread pool (what
 * fs streams do) would hold up process.exit for as long as the pipe stays open, and ctr never
 * closes it.
 */
function openInput(fd: number): Readable {
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) {
    const { Socket } = process.getBuiltinModule("node:net");
    return new Socket({ fd, readable: true, writable: false });
  }
  return isTerminal(fd)
    ? new (process.getBuiltinModule("node:tty").ReadStream)(fd)
    : createReadStream("", { fd, autoClose: false });
}

function feedStdin(fd: number, to: { write(d: Uint8Array): Promise<void>; close(): Promise<void> } | null): void {
  if (!to) return;
  const input = openInput(fd);
  input.on("data", (d) => {
    input.pause();
    to.write(d as Buffer).then(
      () => input.resume(),
      () => input.destroy(),
    );
  });
  input.on("end", () => void to.close().catch(() => {}));
  input.on("error", () => void to.close().catch(() => {}));
}
