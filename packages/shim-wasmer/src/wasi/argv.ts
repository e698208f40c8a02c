import { guard } from "./abi.ts";
import { encode, type GuestMemory } from "./memory.ts";
import type { Fn } from "./preview1.ts";

/** args_sizes_get and args_get: the guest's argv, argv[0] included, each NUL-terminated. */
export function argvImports(mem: GuestMemory, argv: string[]): Record<string, Fn> {
  const args = argv.map(encode);
  return {
    args_sizes_get: (argc: number, size: number) =>
      guard(() => {
        mem.setU32(argc, args.length);
        mem.setU32(
          size,
          args.reduce((n, a) => n + a.length + 1, 0),
        );
      }),
    args_get: (argvPtr: number, buf: number) =>
      guard(() => {
        let at = buf;
        args.forEach((a, i) => {
          mem.setU32(argvPtr + 4 * i, at);
          at += mem.write(at, a);
          mem.setU8(at++, 0);
        });
      }),
  };
}
