import { join } from "node:path";

export interface ConfigInput {
  dir: string;
  socket: string;
  ttrpcSocket: string;
  logLevel: "debug" | "info";
  cri: boolean;
  sandboxImage: string;
  runtimes: Record<string, string>;
}

// Snapshotters that cannot work on this kind of host only add "skip loading plugin" noise, and
// devmapper logs an error on every start unless configured.
const alwaysDisabled = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
];

/** TOML basic strings accept JSON's escapes for everything a path or image ref can contain. */
const q = (s: string) => JSON.stringify(s);

/** A containerd 1.6 `version = 2` config whose every path lives under `dir`. */
export function containerdConfig(c: ConfigInput): string {
  const disabled = c.cri ? alwaysDisabled : ["io.containerd.grpc.v1.cri", ...alwaysDisabled];
  const lines = [
    "version = 2",
    `root = ${q(join(c.dir, "root"))}`,
    `state = ${q(join(c.dir, "state"))}`,
    `disabled_plugins = [${disabled.map(q).join(", ")}]`,
    "",
    "[grpc]",
    `  address = ${q(c.socket)}`,
    "[ttrpc]",
    `  address = ${q(c.ttrpcSocket)}`,
    "[debug]",
    `  address = ${q(join(c.dir, "run", "debug.sock"))}`,
    `  level = ${q(c.logLevel)}`,
    "[metrics]",
    '  address = ""',
    "",
    // containerd prepends <path>/bin to the PATH it gives shims; keep it away from /opt/containerd.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(c.dir, "opt"))}`,
  ];
  if (c.cri) lines.push("", ...criSection(c));
  return `${lines.join("\n")}\n`;
}

function criSection(c: ConfigInput): string[] {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  const lines = [
    `${cri}]`,
    "  disable_tcp_service = true",
    `  sandbox_image = ${q(c.sandboxImage)}`,
    // Root here lacks CAP_SYS_RESOURCE, so the sandbox's oom_score_adj of -998 cannot be set.
    "  restrict_oom_score_adj = true",
    `${cri}.cni]`,
    `  bin_dir = ${q(join(c.dir, "cni", "bin"))}`,
    `  conf_dir = ${q(join(c.dir, "cni", "conf"))}`,
    `${cri}.containerd]`,
    '  default_runtime_name = "runc"',
    `${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
  ];
  for (const [handler, type] of Object.entries(c.runtimes)) {
    lines.push(`${cri}.containerd.runtimes.${q(handler)}]`, `  runtime_type = ${q(type)}`);
  }
  return lines;
}
