import { writeSync } from "node:fs";

type Streams = typeof import("@bytecodealliance/preview2-shim").io.streams;
type OutputStream = Streams["OutputStream"]["prototype"];
/** The typings mark the constructor private; at run time it is a plain class. */
type OutputStreamClass = new () => OutputStream;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `buf`, waiting out EAGAIN: the container's stdio may be a non-blocking FIFO. Any
 * other error (EPIPE: the reader is gone) is thrown into the guest's write, which ends the guest as
 * SIGPIPE ends a native process; shim-wasmer drops instead, having no guest call to fail.
 */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Atomics.wait(sleeper, 0, 0, 1);
    }
  }
}

/**
 * preview2-shim's stdout/stderr go to the thread's process.stdout, which in a worker is a pipe
 * drained by the main thread asynchronously (lost when the runner exits). This writes straight
 * to the container's fd instead, as the guest writes. The bindings check `instanceof`, so it has
 * to be a subclass of the shim's own class.
 */
export function fdOutputStream(streams: Streams, fd: number, base: OutputStream): OutputStream {
  class FdOutputStream extends (streams.OutputStream as unknown as OutputStreamClass) {
    override checkWrite(): bigint {
      return 1n << 20n;
    }
    override write(buf: Uint8Array): void {
      writeAll(fd, buf);
    }
    override blockingWriteAndFlush(buf: Uint8Array): void {
      writeAll(fd, buf);
    }
    override flush(): void {}
    override blockingFlush(): void {}
    override subscribe() {
      return base.subscribe();
    }
  }
  return new FdOutputStream();
}
