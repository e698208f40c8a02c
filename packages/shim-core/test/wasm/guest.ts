// Drives node:wasi's preview1 functions, through the hardening layer, from JavaScript: a module
// that only exports a memory stands for the guest, and the test plays its part, with pointers
// into that memory. No containers and no root needed.
import { hardenPreview1, type Preview1Imports } from "../../src/wasm/preview1/harden.ts";

/** (module (memory (export "memory") 2)) */
const MEMORY_ONLY = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 2, 7, 10, 1, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0,
]);

export const ROOT_FD = 3;

export interface Dirent {
  next: bigint;
  ino: bigint;
  type: number;
  name: string;
}

export class Guest {
  readonly imports: Preview1Imports;
  readonly memory: WebAssembly.Memory;
  #heap = 4096;

  constructor(root: string, opts: { stdin?: number } = {}) {
    const { WASI } = process.getBuiltinModule("node:wasi");
    const preopens = { "/": root };
    const stdin = opts.stdin ?? 0;
    const wasi = new WASI({ version: "preview1", preopens, returnOnExit: true, stdin });
    const layer = hardenPreview1(
      (wasi.getImportObject() as { wasi_snapshot_preview1: Preview1Imports }).wasi_snapshot_preview1,
      preopens,
      [stdin, 1, 2],
    );
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MEMORY_ONLY), {});
    layer.attach(instance);
    wasi.initialize(instance);
    this.imports = layer.imports;
    this.memory = instance.exports.memory as WebAssembly.Memory;
  }

  get view(): DataView {
    return new DataView(this.memory.buffer);
  }

  /** `n` fresh bytes of guest memory (never reused), zeroed. */
  alloc(n: number): number {
    const ptr = this.#heap;
    this.#heap += (n + 7) & ~7;
    new Uint8Array(this.memory.buffer, ptr, n).fill(0);
    return ptr;
  }

  /** A string (or bytes) in guest memory: [pointer, length]. */
  put(data: string | Uint8Array): [number, number] {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const ptr = this.alloc(bytes.length);
    new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }

  call(name: string, ...args: (number | bigint)[]): number {
    const fn = this.imports[name];
    if (!fn) throw new Error(`no ${name}`);
    return fn(...args);
  }

  /** fd_fdstat_get's base and inheriting rights. */
  rights(fd: number): [bigint, bigint] {
    const buf = this.alloc(24);
    if (this.call("fd_fdstat_get", fd, buf) !== 0) throw new Error(`fd_fdstat_get(${fd}) failed`);
    return [this.view.getBigUint64(buf + 8, true), this.view.getBigUint64(buf + 16, true)];
  }

  /**
   * path_open; rights default to all that `dirfd` can hand down, less (for O_DIRECTORY) those
   * that make uvwasi open for writing, which a directory refuses.
   */
  open(
    dirfd: number,
    path: string | Uint8Array,
    opts: { oflags?: number; fdflags?: number; follow?: boolean; rights?: bigint } = {},
  ): { rc: number; fd: number } {
    const [p, l] = this.put(path);
    const out = this.alloc(4);
    const inheriting = this.rights(dirfd)[1];
    const writing = 1n | (1n << 6n) | (1n << 8n) | (1n << 22n);
    const rights = opts.rights ?? ((opts.oflags ?? 0) & 2 ? inheriting & ~writing : inheriting);
    const rc = this.call(
      "path_open",
      dirfd,
      opts.follow ? 1 : 0,
      p,
      l,
      opts.oflags ?? 0,
      rights,
      inheriting,
      opts.fdflags ?? 0,
      out,
    );
    return { rc, fd: this.view.getUint32(out, true) };
  }

  /** fs_flags of fd_fdstat_get, or throws on an errno. */
  fdflags(fd: number): number {
    const buf = this.alloc(24);
    const rc = this.call("fd_fdstat_get", fd, buf);
    if (rc !== 0) throw new Error(`fd_fdstat_get(${fd}) = ${rc}`);
    return this.view.getUint16(buf + 2, true);
  }

  /** poll_oneoff on fd subscriptions ([fd, 1 read | 2 write]) and a relative clock: the events' [userdata, type, error]. */
  poll(fdSubs: [number, number][], clockNs: bigint): { rc: number; events: [bigint, number, number][] } {
    const n = fdSubs.length + 1;
    const subs = this.alloc(48 * n);
    const out = this.alloc(32 * n);
    const nevents = this.alloc(4);
    fdSubs.forEach(([fd, type], i) => {
      this.view.setBigUint64(subs + 48 * i, BigInt(100 + i), true);
      this.view.setUint8(subs + 48 * i + 8, type);
      this.view.setUint32(subs + 48 * i + 16, fd, true);
    });
    const clock = subs + 48 * fdSubs.length;
    this.view.setBigUint64(clock, 1n, true);
    this.view.setBigUint64(clock + 24, clockNs, true);
    const rc = this.call("poll_oneoff", subs, out, n, nevents);
    const events: [bigint, number, number][] = [];
    for (let i = 0; i < (rc === 0 ? this.view.getUint32(nevents, true) : 0); i++) {
      events.push([
        this.view.getBigUint64(out + 32 * i, true),
        this.view.getUint8(out + 32 * i + 10),
        this.view.getUint16(out + 32 * i + 8, true),
      ]);
    }
    return { rc, events };
  }

  /** One fd_readdir call: the whole entries it returned, and whether the buffer was filled. */
  readdir(fd: number, cookie: bigint, bufLen: number): { rc: number; entries: Dirent[]; full: boolean } {
    const buf = this.alloc(bufLen);
    const used = this.alloc(4);
    const rc = this.call("fd_readdir", fd, buf, bufLen, cookie, used);
    const n = this.view.getUint32(used, true);
    const entries: Dirent[] = [];
    for (let off = 0; off + 24 <= n; ) {
      const namlen = this.view.getUint32(buf + off + 16, true);
      if (off + 24 + namlen > n) break;
      entries.push({
        next: this.view.getBigUint64(buf + off, true),
        ino: this.view.getBigUint64(buf + off + 8, true),
        type: this.view.getUint8(buf + off + 20),
        name: new TextDecoder().decode(this.bytes(buf + off + 24, namlen)),
      });
      off += 24 + namlen;
    }
    return { rc, entries, full: n === bufLen };
  }
}
