/** The flags containerd 1.6–2.3 pass a shim, parsed the way Go's flag package does. */
export interface ShimFlags {
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  socket: string;
  debug: boolean;
  version: boolean;
  info: boolean;
  /** The first non-flag word: start, delete, serve, … */
  action: string;
  rest: string[];
}

/**
 * The action word of a spare daemon (spare.ts). Here rather than beside the code that starts one
 * (spare-spawn.ts): every boot of the bundle reads it, and that module's imports
 * (node:child_process, node:net) cost a runner 7-11 ms to load for nothing.
 */
export const SPARE_ACTION = "spare";

const booleans = new Set(["debug", "v", "version", "info"]);
const strings: Record<string, keyof ShimFlags> = {
  namespace: "namespace",
  id: "id",
  address: "address",
  "publish-binary": "publishBinary",
  bundle: "bundle",
  socket: "socket",
};

/**
 * `-name value`, `-name=value` and `--name value` are equivalent and flags stop at the first word.
 * Unknown flags are skipped rather than fatal, so a newer containerd's additions do not break us.
 */
export function parseFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = {
    namespace: "",
    id: "",
    address: "",
    publishBinary: "",
    bundle: "",
    socket: "",
    debug: false,
    version: false,
    info: false,
    action: "",
    rest: [],
  };
  const values = flags as unknown as Record<string, string | boolean>;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (booleans.has(name)) {
      values[name === "v" ? "version" : name] = inline === undefined ? true : inline !== "false";
    } else if (name in strings) {
      values[strings[name]!] = inline ?? argv[++i] ?? "";
    } else if (
      inline === undefined &&
      argv[i + 1] !== undefined &&
      !argv[i + 1]!.startsWith("-") &&
      !knownActions.has(argv[i + 1]!)
    ) {
      i++; // an unknown flag that evidently takes a value
    }
  }
  flags.action = argv[i] ?? "";
  flags.rest = argv.slice(i + 1);
  return flags;
}

const knownActions = new Set(["start", "delete", "serve", "spare"]);
