import { closeSync, createReadStream, readSync, statSync } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";

// The prepared files (e.g. jco's transpiled component) travel to the runner as one stream over a
// socket: per file a 4-byte name length, the UTF-8 name, an 8-byte size and the bytes; a zero
// name length ends it. A socket is no path and cannot be reopened through /proc, so a container
// gets its own files and nothing else of the cache they come from.

const MAX_NAME = 4096;
const MAX_TOTAL = 2 ** 32;

/** Streams `files` (name -> host path) into `out` and ends it. */
export async function writeFiles(out: Writable, files: Record<string, string>): Promise<void> {
  const write = async (chunk: Uint8Array) => {
    if (!out.write(chunk)) await Promise.race([once(out, "drain"), once(out, "close")]);
    if (out.destroyed) throw new Error("the runner closed its end");
  };
  for (const [name, path] of Object.entries(files)) {
    const nameBytes = Buffer.from(name);
    const header = Buffer.alloc(12 + nameBytes.length);
    header.writeUInt32BE(nameBytes.length, 0);
    nameBytes.copy(header, 4);
    const size = statSync(path).size;
    header.writeBigUInt64BE(BigInt(size), 4 + nameBytes.length);
    await write(header);
    let sent = 0;
    for await (const chunk of createReadStream(path)) {
      sent += (chunk as Buffer).length;
      await write(chunk as Buffer);
    }
    if (sent !== size) throw new Error(`${path} changed size while being sent`);
  }
  await write(Buffer.alloc(4));
  out.end();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function readFully(fd: number, buf: Uint8Array): void {
  for (let off = 0; off < buf.length; ) {
    let n: number;
    try {
      n = readSync(fd, buf, off, buf.length - off, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(sleeper, 0, 0, 2);
      continue;
    }
    if (n === 0) throw new Error("the shim's stream of prepared files ended early");
    off += n;
  }
}

/** Reads a whole stream of files from `fd` (blocking) and closes it. */
export function readFiles(fd: number): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  let total = 0;
  try {
    for (;;) {
      const len = Buffer.alloc(4);
      readFully(fd, len);
      const nameLength = len.readUInt32BE(0);
      if (nameLength === 0) return files;
      if (nameLength > MAX_NAME) throw new Error(`bad prepared-file name length ${nameLength}`);
      const head = Buffer.alloc(nameLength + 8);
      readFully(fd, head);
      const name = head.subarray(0, nameLength).toString();
      const size = Number(head.readBigUInt64BE(nameLength));
      total += size;
      if (total > MAX_TOTAL) throw new Error("prepared files larger than 4 GiB");
      const bytes = new Uint8Array(size);
      readFully(fd, bytes);
      files[name] = bytes;
    }
  } finally {
    closeSync(fd);
  }
}
