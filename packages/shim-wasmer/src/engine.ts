import type { Engine, RunContext } from "@wasm-shims/shim-core";
import { basename } from "node:path";
import { createReadStream, fstatSync, writeSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable } from "node:stream";
import { isatty, ReadStream } from "node:tty";
import { guestRoot } from "./rootfs.ts";
import { hostMountingWasmer } from "./sdk.ts";

/** Pinned in package.json; test/engine.test.ts keeps them in step. */
export const SDK_VERSION = "0.16.0";
/** What a process the SDK reports as terminated or timed out exits with: 128 + SIGKILL. */
const KILLED = 137;

/**
 * The SDK names argv[0] after the package's command, and command names may hold only
 * [A-Za-z0-9._+-]: the closest to the image's argv[0] it allows is its base name.
 */
export function commandName(argv0: string | undefined): string {
  const name = basename(argv0 ?? "").replace(/[^A-Za-z0-9._+-]/g, "_");
  return name === "" || name === "." || name === ".." ? "main" : name;
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

/** The SDK reports a trap as a rejected wait() whose message carries the engine's RuntimeError. */
function asTrap(err: unknown): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  const trap = /RuntimeError: (?:js: )?([^\n]*)/.exec(msg);
  return trap ? new WebAssembly.RuntimeError(trap[1]) : err;
}

async function loadGuest(ctx: RunContext) {
  const root = guestRoot();
  const wasmer = hostMountingWasmer(root.mounts, { cache: false });
  const command = commandName(ctx.args[0]);
  const pkg = await wasmer.packages.create({ modules: { guest: ctx.module }, commands: { [command]: { module: "guest" } }, files: root.files });
  return { wasmer, pkg };
}

/** What load prepared for run: one runner process runs one guest. */
let loaded: Awaited<ReturnType<typeof loadGuest>> | undefined;

/**
 * @wasmer/sdk: WASIX in the SDK's own runtime. The container's files reach the guest through live
 * host mounts (see rootfs.ts); stdio is piped through the SDK and copied to the container's fds
 * as it arrives.
 */
export const wasmerEngine: Engine = {
  name: "wasmer",
  version: `@wasmer/sdk ${SDK_VERSION}`,
  // The SDK reads its own .wasm (an embedded asset) when it starts: before the runner closes its files.
  async load(ctx: RunContext) {
    loaded = await loadGuest(ctx);
  },
  async run(ctx: RunContext) {
    const { wasmer, pkg } = loaded ?? (await loadGuest(ctx));
    loaded = undefined;
    const sandbox = await wasmer.sandboxes.create({ packages: [pkg], network: { mode: "disabled" } });
    const proc = await sandbox.command(pkg, ctx.args.slice(1), { env: ctx.env, cwd: ctx.cwd }).spawn({ stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    feedStdin(ctx.stdin, proc.stdin);
    const output = Promise.all([pump(proc.stdout, ctx.stdout), pump(proc.stderr, ctx.stderr)]);
    let result;
    try {
      result = await proc.wait();
    } catch (err) {
      await output;
      throw asTrap(err);
    }
    await output;
    return result.reason === "exited" ? result.exitCode : KILLED;
  },
};

/**
 * A pipe or socket is read through the event loop: a read blocked in libuv's thread pool (what
 * fs streams do) would hold up process.exit for as long as the pipe stays open, and ctr never
 * closes it.
 */
function openInput(fd: number): Readable {
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd, readable: true, writable: false });
  return isatty(fd) ? new ReadStream(fd) : createReadStream("", { fd, autoClose: false });
}

function feedStdin(fd: number, to: { write(d: Uint8Array): Promise<void>; close(): Promise<void> } | null): void {
  if (!to) return;
  const input = openInput(fd);
  input.on("data", (d) => {
    input.pause();
    to.write(d as Buffer).then(() => input.resume(), () => input.destroy());
  });
  input.on("end", () => void to.close().catch(() => {}));
  input.on("error", () => void to.close().catch(() => {}));
}
