import { mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ContainerdOptions {
  /** Default: a fresh directory under os.tmpdir() (or /tmp when that path is too long for a socket). */
  dir?: string;
  /** A folder of containerd-shim-*-v1 binaries, put first on the daemon's PATH. */
  shimDir?: string;
  /** CRI runtime handler → runtime_type, e.g. { "wasm-node": "io.containerd.node.v1" }. */
  runtimes?: Record<string, string>;
  /** Enable the CRI plugin (default false: it is disabled, which also makes start and stop faster). */
  cri?: boolean;
  /** Default "localhost/busybox-pause:test". */
  sandboxImage?: string;
  logLevel?: "debug" | "info";
  /** Namespace used when a call does not name one. Default: uniqueNamespace(). */
  namespace?: string;
  /** Extra environment for the daemon, which passes it on to the shims it starts. */
  env?: Record<string, string>;
  /** Rewrites the generated config.toml (given its path) before the daemon starts, e.g. with an installer under test. */
  editConfig?: (configFile: string) => void | Promise<void>;
  /**
   * Run the daemon, and so its shims and runc, in a private mount namespace whose /sys/fs/cgroup
   * is a cgroup v2 hierarchy: a cgroup v2 host as they see it, on a v1 or hybrid machine (whose v2
   * hierarchy may lack controllers: with no cpu controller, `ctr run` needs `--cpu-shares 0`).
   */
  cgroup2?: boolean;
}

/** What `harness.json` holds, so that another process (tools/containerd.ts stop) can take over. */
export interface HarnessState {
  pid: number;
  dir: string;
  socket: string;
  ttrpcSocket: string;
  namespace: string;
  env: Record<string, string>;
  cgroup2?: boolean;
  /** Epoch ms of the first start: host-wide files older than that are not this instance's. */
  startedAt?: number;
}

// sun_path holds 108 bytes; the ttrpc socket adds ".ttrpc" to the gRPC one.
const maxSocketPath = 100;

export function checkSocketPath(dir: string): void {
  const longest = join(dir, "run", "containerd.sock.ttrpc");
  if (Buffer.byteLength(longest) >= maxSocketPath)
    throw new Error(`dir too long for a unix socket path (< ${maxSocketPath} bytes): ${longest}`);
}

export function prepareDir(dir: string | undefined): string {
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    return realpathSync(dir);
  }
  const base = Buffer.byteLength(realpathSync(tmpdir())) > 40 ? "/tmp" : realpathSync(tmpdir());
  return mkdtempSync(join(base, "ctd-"));
}
