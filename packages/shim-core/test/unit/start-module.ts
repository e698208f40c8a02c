const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** A WASI command (memory, `_start`) whose `_start` has `body`'s instructions and no locals. */
export function commandWithStart(body: number[]): Uint8Array<ArrayBuffer> {
  const code = [0, ...body, 0x0b];
  return new Uint8Array([
    ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[1, 4, 1, 0x60, 0, 0],
    ...[3, 2, 1, 0],
    ...[5, 3, 1, 0, 1],
    ...[7, 19, 2, 6, ...ascii("_start"), 0, 0, 6, ...ascii("memory"), 2, 0],
    ...[10, code.length + 2, 1, code.length, ...code],
  ]);
}

/** `i32.add` on an empty stack, then `drop`: well-formed, but it does not validate. */
export const INVALID_BODY = [0x6a, 0x1a];
