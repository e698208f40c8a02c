import { closeSync, constants, createWriteStream, open as openFd, openSync, readSync } from "node:fs";
import type { Writable } from "node:stream";
import { promisify } from "node:util";
import { open, stat, type FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Socket } from "node:net";
import { invalidArgument, unimplemented } from "../errors.ts";

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Opened container stdio: output as file handles whose fds a child inherits, input as a stream. */
export interface OpenedStdio {
  stdin?: Socket;
  stdout?: FileHandle;
  stderr?: FileHandle;
  /** Closes everything, the held readers included. */
  close(): Promise<void>;
  /** Closes the readers held on the output FIFOs: for when the process has ended. */
  releaseReaders(): void;
}

function parsePath(uri: string): { kind: "fifo" | "file"; path: string } {
  if (uri.startsWith("binary://")) throw unimplemented("binary:// logging is not supported by this shim");
  if (uri.startsWith("file://")) return { kind: "file", path: new URL(uri).pathname };
  if (uri.startsWith("fifo://")) return { kind: "fifo", path: uri.slice("fifo://".length) };
  if (!uri.startsWith("/")) throw invalidArgument(`stdio path ${uri} is not absolute`);
  return { kind: "fifo", path: uri };
}

/** How long Start waits for the client to open the reading end of an output FIFO. */
export const FIFO_READER_TIMEOUT_MS = 30_000;

/**
 * Plain paths are the FIFOs containerd creates, and only FIFOs are opened: a regular file would be
 * overwritten from its start, and opening a device can have effects of its own.
 */
async function checkKind(path: string, want: "fifo" | "file"): Promise<void> {
  const s = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (want === "file" && err.code === "ENOENT") return undefined;
    throw err;
  });
  if (s && want === "fifo" && !s.isFIFO()) throw new Error(`${path} is not a FIFO`);
  if (s && want === "file" && !s.isFile()) throw new Error(`${path} is not a regular file`);
}

type Opener<T> = (path: string, flags: number, mode?: number) => Promise<T>;

async function openOutput(uri: string): Promise<FileHandle>;
async function openOutput<T>(uri: string, openWith: Opener<T>): Promise<T>;
async function openOutput(uri: string, openWith: Opener<unknown> = open): Promise<unknown> {
  const { kind, path } = parsePath(uri);
  await checkKind(path, kind);
  if (kind === "file") return openWith(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  // Non-blocking, retried: a blocking open of a FIFO nobody reads would park a libuv thread, and
  // four of those stop every file operation of the daemon.
  for (const deadline = Date.now() + FIFO_READER_TIMEOUT_MS; ; ) {
    try {
      return await openWith(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
      if (Date.now() > deadline)
        throw new Error(`nobody opened ${path} for reading within ${FIFO_READER_TIMEOUT_MS / 1000} s`);
      await sleep(20);
    }
  }
}

/**
 * A FIFO opened O_RDONLY|O_NONBLOCK and read through libuv's poller reports EOF only after a writer
 * has come and gone, so the container's stdin does not end before the client attaches.
 */
async function openInput(uri: string): Promise<Socket> {
  const { path } = parsePath(uri);
  await checkKind(path, "fifo");
  const fd = await promisify(openFd)(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * CloseIO for a piped stdin: what the client wrote before it asked is in the FIFO (or already in
 * `source`'s buffer) but maybe not yet copied, since the FIFO is read only when the event loop
 * gets to it. Under load containerd's CRI (stdin_once: write, close, CloseIO) lost all of it.
 * Hands everything over, then ends the process's stdin.
 */
export function endInput(source: Socket, sink: Writable): void {
  source.unpipe(sink);
  for (let chunk = source.read() as Buffer | null; chunk !== null; chunk = source.read() as Buffer | null)
    sink.write(chunk);
  // The FIFO's own fd, as libuv polls it: the Socket has no synchronous read.
  const fd = (source as unknown as { _handle?: { fd?: number } })._handle?.fd;
  const buf = Buffer.allocUnsafe(64 << 10);
  for (;;) {
    let n = 0;
    try {
      if (fd !== undefined && fd >= 0) n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      // EAGAIN: empty, a writer still open; anything else: nothing more to read either way
    }
    if (n <= 0) break;
    sink.write(Buffer.from(buf.subarray(0, n)));
  }
  source.destroy();
  sink.end();
}

/**
 * A terminal's output, copied by the shim (not handed to runc as an fd): a FIFO as a socket libuv
 * polls, so a slow reader makes the copy wait instead of failing with EAGAIN.
 */
export async function openTerminalOutput(uri: string): Promise<Writable> {
  const fd = await openOutput(uri, promisify(openFd));
  if (parsePath(uri).kind === "file") return createWriteStream("", { fd });
  return new Socket({ fd, readable: false, writable: true });
}

export const openTerminalInput = openInput;

/**
 * At Create and Exec: the paths are ones Start will be able to open. containerd creates the FIFOs
 * before it asks, so a missing one is a mistake worth reporting before anything runs.
 */
export async function checkStdio(paths: StdioPaths): Promise<void> {
  for (const [name, uri] of [
    ["stdin", paths.stdin],
    ["stdout", paths.stdout],
    ["stderr", paths.stderr],
  ] as const) {
    if (!uri) continue;
    try {
      const { kind, path } = parsePath(uri);
      await checkKind(path, name === "stdin" ? "fifo" : kind);
    } catch (err) {
      throw invalidArgument(`${name} ${JSON.stringify(uri.slice(0, 256))}: ${(err as Error).message}`);
    }
  }
}

/**
 * A reader of our own on an output FIFO, opened once the client's reader is there and held while
 * the process runs, as containerd's runc shim does. When the client goes (`ctr run -d` returns, a
 * `ctr` is killed), the process's writes then go on into the FIFO's buffer, and once it is full
 * wait, as for a slow reader (libuv clears O_NONBLOCK on the stdio fds it hands runc). Without it
 * they failed with EPIPE, and a process that checks its writes ended: a jco HTTP server at its
 * first log line, a Rust program at its next println!. It never reads: a client that attaches
 * again gets what is buffered, and the client's end of file still comes when the writers close.
 */
function holdReader(uri: string): number | undefined {
  const { kind, path } = parsePath(uri);
  return kind === "fifo" ? openSync(path, constants.O_RDONLY | constants.O_NONBLOCK) : undefined;
}

export async function openStdio(paths: StdioPaths): Promise<OpenedStdio> {
  const readers: number[] = [];
  const releaseReaders = () => {
    for (const fd of readers.splice(0)) closeSync(fd);
  };
  const opened: OpenedStdio = { close: async () => {}, releaseReaders };
  const output = async (uri: string) => {
    const handle = await openOutput(uri);
    const reader = holdReader(uri);
    if (reader !== undefined) readers.push(reader);
    return handle;
  };
  try {
    if (paths.stdout) opened.stdout = await output(paths.stdout);
    if (paths.stderr)
      opened.stderr = paths.stderr === paths.stdout && opened.stdout ? opened.stdout : await output(paths.stderr);
    if (paths.stdin) opened.stdin = await openInput(paths.stdin);
  } catch (err) {
    await closeAll(opened);
    throw invalidArgument(`cannot open container stdio: ${(err as Error).message}`);
  }
  opened.close = () => closeAll(opened);
  return opened;
}

async function closeAll(io: OpenedStdio): Promise<void> {
  io.stdin?.destroy();
  await io.stdout?.close().catch(() => {});
  if (io.stderr !== io.stdout) await io.stderr?.close().catch(() => {});
  io.releaseReaders();
}
