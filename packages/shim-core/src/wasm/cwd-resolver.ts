import { s32, u32 } from "./binary.ts";

/** Linux's PATH_MAX: a path argument that long or longer is refused by the kernel anyway. */
export const PATH_MAX = 4096;

export interface ResolverLayout {
  /** `__wasilibc_find_abspath`'s function index. */
  findAbspath: number;
  /** A 4-byte word, initially 0, that says which of the two slots was used last. */
  toggle: number;
  /** Two slots of `slotSize` bytes from here, each initially holding `prefixLength` bytes: the cwd and "/". */
  slots: number;
  slotSize: number;
  prefixLength: number;
}

/** Each slot holds the cwd, "/", then a path of up to PATH_MAX - 1 bytes and its NUL. */
export function slotSize(prefixLength: number): number {
  return Math.ceil((prefixLength + PATH_MAX) / 16) * 16;
}

const i32 = (n: number) => [0x41, ...s32(n | 0)];
const get = (l: number) => [0x20, l];
const set = (l: number) => [0x21, l];
const tee = (l: number) => [0x22, l];

/**
 * The body of a function with `__wasilibc_find_abspath`'s signature
 * `(const char *path, const char **abs_prefix, const char **relative) -> fd` that resolves a
 * relative path against the working directory, as wasi-libc's chdir emulation does when a program
 * links chdir: an absolute path goes to find_abspath as it is, a relative one as "<cwd>/<path>".
 *
 * The joined path goes into one of two static slots in turn, because `*relative` points into it
 * after the return and wasi-libc resolves at most two paths (rename, link, symlink) before using
 * them; its own non-chdir path keeps the same kind of borrowed pointer into the caller's string.
 * A path too long for a slot is resolved as given: it is PATH_MAX or longer, which the host refuses.
 */
export function resolverBody(l: ResolverLayout): Uint8Array {
  const [path, prefix, rel, src, dst, c, base] = [0, 1, 2, 3, 4, 5, 6];
  const asGiven = [...get(path), ...get(prefix), ...get(rel), 0x10, ...u32(l.findAbspath), 0x0f];
  const code = [
    // locals: four i32 (src, dst, c, base)
    0x01,
    0x04,
    0x7f,
    // if (path[0] == '/') return find_abspath(path, prefix, rel)
    ...get(path),
    0x2d,
    0x00,
    0x00,
    ...i32(0x2f),
    0x46,
    0x04,
    0x40,
    ...asGiven,
    0x0b,
    // c = *toggle = 1 - *toggle
    ...i32(l.toggle),
    ...i32(1),
    ...i32(l.toggle),
    0x28,
    0x02,
    0x00,
    0x6b,
    ...tee(c),
    0x36,
    0x02,
    0x00,
    // base = slots + c * slotSize; dst = base + prefixLength; src = path
    ...get(c),
    ...i32(l.slotSize),
    0x6c,
    ...i32(l.slots),
    0x6a,
    ...tee(base),
    ...i32(l.prefixLength),
    0x6a,
    ...set(dst),
    ...get(path),
    ...set(src),
    0x02,
    0x40, // block $done
    0x03,
    0x40, //   loop $copy
    // if (dst >= base + slotSize) return find_abspath(path, prefix, rel)
    ...get(dst),
    ...get(base),
    ...i32(l.slotSize),
    0x6a,
    0x4f,
    0x04,
    0x40,
    ...asGiven,
    0x0b,
    // *dst = c = *src; if (c == 0) break
    ...get(dst),
    ...get(src),
    0x2d,
    0x00,
    0x00,
    ...tee(c),
    0x3a,
    0x00,
    0x00,
    ...get(c),
    0x45,
    0x0d,
    0x01,
    ...get(src),
    ...i32(1),
    0x6a,
    ...set(src),
    ...get(dst),
    ...i32(1),
    0x6a,
    ...set(dst),
    0x0c,
    0x00, // br $copy
    0x0b, //   end loop
    0x0b, // end block
    ...get(base),
    ...get(prefix),
    ...get(rel),
    0x10,
    ...u32(l.findAbspath),
    0x0b,
  ];
  return Uint8Array.from(code);
}
