import { E, fail } from "./abi.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * The guest's linear memory, read afresh on every access: a memory.grow replaces the buffer. Out
 * of range accesses throw RangeError, which errnoOf maps to FAULT.
 */
export class GuestMemory {
  readonly #memory: () => WebAssembly.Memory;

  constructor(memory: () => WebAssembly.Memory) {
    this.#memory = memory;
  }

  get view(): DataView {
    return new DataView(this.#memory().buffer);
  }

  bytes(ptr: number, len: number): Uint8Array {
    const buf = this.#memory().buffer;
    if (ptr + len > buf.byteLength) throw new RangeError("guest pointer out of bounds");
    return new Uint8Array(buf, ptr, len);
  }

  u32(ptr: number): number {
    return this.view.getUint32(ptr, true);
  }

  setU8(ptr: number, v: number): void {
    this.view.setUint8(ptr, v);
  }

  setU16(ptr: number, v: number): void {
    this.view.setUint16(ptr, v, true);
  }

  setU32(ptr: number, v: number): void {
    this.view.setUint32(ptr, v, true);
  }

  setU64(ptr: number, v: bigint | number): void {
    this.view.setBigUint64(ptr, BigInt(v), true);
  }

  /** A path or name from the guest: UTF-8 or ILSEQ, and no NUL (which the host would cut it at). */
  string(ptr: number, len: number): string {
    let s: string;
    try {
      s = utf8.decode(this.bytes(ptr, len).slice());
    } catch (err) {
      if (err instanceof RangeError) throw err;
      return fail(E.ILSEQ);
    }
    if (s.includes("\0")) fail(E.INVAL);
    return s;
  }

  /** The buffers an iovec array names, as views into guest memory. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) out.push(this.bytes(this.u32(ptr + i * 8), this.u32(ptr + i * 8 + 4)));
    return out;
  }

  /** Copies `data` into guest memory at `ptr`, at most `max` bytes; returns how many. */
  write(ptr: number, data: Uint8Array, max = data.length): number {
    const n = Math.min(max, data.length);
    this.bytes(ptr, n).set(data.subarray(0, n));
    return n;
  }
}

export const encode = (s: string): Uint8Array => encoder.encode(s);
