import { io } from "@bytecodealliance/preview2-shim";
import type { BodySink, BodySource } from "./body.ts";
import type { Pollable } from "./pollable.ts";

/**
 * wasi:io input and output streams over a body (body.ts). They extend preview2-shim's classes,
 * which jco checks with instanceof; every method is this file's own.
 */
const MAX_READ = 1024 * 1024;
const clamp = (len: bigint) => Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len);
const InputBase = io.streams.InputStream as unknown as new () => object;
const OutputBase = io.streams.OutputStream as unknown as new () => object;

export class BodyInputStream extends InputBase {
  readonly #source: BodySource;
  constructor(source: BodySource) {
    super();
    this.#source = source;
  }
  read(len: bigint): Uint8Array {
    return this.#source.take(clamp(len));
  }
  blockingRead(len: bigint): Uint8Array | Promise<Uint8Array> {
    return this.#source.takeBlocking(clamp(len));
  }
  skip(len: bigint): bigint {
    return BigInt(this.#source.take(clamp(len)).length);
  }
  blockingSkip(len: bigint): bigint | Promise<bigint> {
    const r = this.#source.takeBlocking(clamp(len));
    return r instanceof Promise ? r.then((b) => BigInt(b.length)) : BigInt(r.length);
  }
  subscribe(): Pollable {
    return this.#source.signal.pollable(() => this.#source.ready());
  }
  [Symbol.dispose](): void {}
}

export class BodyOutputStream extends OutputBase {
  readonly #sink: BodySink;
  constructor(sink: BodySink) {
    super();
    this.#sink = sink;
  }
  checkWrite(): bigint {
    this.#sink.check();
    this.#sink.open();
    return BigInt(this.#sink.budget());
  }
  write(buf: Uint8Array): void {
    this.#sink.write(buf);
  }
  blockingWriteAndFlush(buf: Uint8Array): Promise<void> | undefined {
    this.#sink.write(buf);
    return this.#sink.drained();
  }
  flush(): void {
    this.#sink.check();
    this.#sink.open();
  }
  blockingFlush(): Promise<void> | undefined {
    this.#sink.check();
    return this.#sink.drained();
  }
  writeZeroes(len: bigint): void {
    this.#sink.write(new Uint8Array(Number(len)));
  }
  blockingWriteZeroesAndFlush(len: bigint): Promise<void> | undefined {
    return this.blockingWriteAndFlush(new Uint8Array(Number(len)));
  }
  splice(src: { read(len: bigint): Uint8Array }, len: bigint): bigint {
    const room = BigInt(this.#sink.budget());
    const bytes = src.read(len < room ? len : room);
    if (bytes.length > 0) this.#sink.write(bytes);
    return BigInt(bytes.length);
  }
  async blockingSplice(
    src: { blockingRead(len: bigint): Uint8Array | Promise<Uint8Array> },
    len: bigint,
  ): Promise<bigint> {
    await this.#sink.drained();
    const room = BigInt(Math.max(1, this.#sink.budget()));
    const bytes = await src.blockingRead(len < room ? len : room);
    if (bytes.length > 0) this.#sink.write(bytes);
    return BigInt(bytes.length);
  }
  subscribe(): Pollable {
    return this.#sink.signal.pollable(() => this.#sink.ready());
  }
  [Symbol.dispose](): void {}
}
