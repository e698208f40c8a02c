import { readSync } from "node:fs";
import { isatty } from "node:tty";
import type { ShimFlags } from "./flags.ts";
import type { StartInput } from "./start-input.ts";

/** What start reads when containerd wrote nothing on its stdin. */
export const EMPTY_INPUT: StartInput = { kind: "empty" };

/** Everything on stdin until EOF: a file, a pipe from containerd, or nothing (closed, /dev/null, a terminal). */
export function readStdin(limit = 16 << 20): Uint8Array {
  if (isatty(0)) return new Uint8Array();
  const chunks: Buffer[] = [];
  let total = 0;
  let waitedMs = 0;
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EBADF" || code === "EINVAL" || code === "EISDIR") break;
      // A non-blocking pipe whose writer has not finished: containerd writes it all at once.
      if (code === "EAGAIN" && waitedMs < 10_000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        waitedMs += 5;
        continue;
      }
      throw err;
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw new Error(`more than ${limit} bytes on stdin: not containerd's start parameters`);
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks);
}

/** How `start` runs, from the flags, the environment and (2.3+) the BootstrapParams. */
export interface StartConfig {
  id: string;
  namespace: string;
  /** containerd's gRPC socket, bare path: part of the socket hash, as with runc's shim. */
  address: string;
  ttrpcAddress: string;
  debug: boolean;
  /** Where the shim's socket goes; containerd 2.3's `socket_dir`, else the fixed default. */
  socketDir: string | undefined;
  input: StartInput;
}

const bare = (address: string) => address.replace(/^unix:\/\//, "");

/**
 * Flags win where both are given (they are what every version passes, and the socket hash must
 * not change between the `start`s of one pod); the parameters fill in what the flags lack.
 */
export function startConfig(flags: ShimFlags, env: NodeJS.ProcessEnv, input: StartInput): StartConfig {
  const p = input.kind === "bootstrap" ? input.params : undefined;
  const config: StartConfig = {
    id: flags.id || p?.instanceId || "",
    namespace: flags.namespace || p?.namespace || "",
    address: flags.address || bare(p?.containerdGrpcAddress ?? ""),
    ttrpcAddress: env.TTRPC_ADDRESS || p?.containerdTtrpcAddress || "",
    debug: flags.debug || (input.kind === "bootstrap" && input.debug),
    socketDir: p?.socketDir || undefined,
    input,
  };
  if (!config.id || !config.namespace)
    throw new Error("start needs -id and -namespace (or containerd's BootstrapParams on stdin)");
  if (config.socketDir !== undefined && !config.socketDir.startsWith("/"))
    throw new Error(`socket_dir ${JSON.stringify(config.socketDir)} is not an absolute path`);
  return config;
}
