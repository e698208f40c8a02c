import { constants, open as openFd } from "node:fs";
import { promisify } from "node:util";
import { open, type FileHandle } from "node:fs/promises";
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
  close(): Promise<void>;
}

function parsePath(uri: string): { kind: "fifo" | "file"; path: string } {
  if (uri.startsWith("binary://")) throw unimplemented("binary:// logging is not supported by this shim");
  if (uri.startsWith("file://")) return { kind: "file", path: new URL(uri).pathname };
  if (uri.startsWith("fifo://")) return { kind: "fifo", path: uri.slice("fifo://".length) };
  if (!uri.startsWith("/")) throw invalidArgument(`stdio path ${uri} is not absolute`);
  return { kind: "fifo", path: uri };
}

async function openOutput(uri: string): Promise<FileHandle> {
  const { kind, path } = parsePath(uri);
  if (kind === "file") return open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  try {
    // Non-blocking, so a FIFO nobody reads fails fast (ENXIO) instead of parking a libuv thread.
    return await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
    return open(path, constants.O_WRONLY);
  }
}

/**
 * A FIFO opened O_RDONLY|O_NONBLOCK and read through libuv's poller reports EOF only after a writer
 * has come and gone, so the container's stdin does not end before the client attaches.
 */
async function openInput(uri: string): Promise<Socket> {
  const { path } = parsePath(uri);
  const fd = await promisify(openFd)(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

export async function openStdio(paths: StdioPaths): Promise<OpenedStdio> {
  const opened: OpenedStdio = { close: async () => {} };
  try {
    if (paths.stdout) opened.stdout = await openOutput(paths.stdout);
    if (paths.stderr) opened.stderr = paths.stderr === paths.stdout && opened.stdout ? opened.stdout : await openOutput(paths.stderr);
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
}
