export interface InstallFlags {
  config: string;
  binDir: string;
  dryRun: boolean;
  /** Create config.toml when it does not exist (otherwise that is an error). */
  create: boolean;
  containerdVersion: string | undefined;
  help: boolean;
}

export const installUsage = (binary: string) => `usage: ${binary} install|uninstall [options]

  install    copies this executable into --bin-dir and adds its runtime to containerd's config.toml
  uninstall  removes exactly what install added: the marked block and the copied executable

  --config PATH              containerd's config (default /etc/containerd/config.toml)
  --bin-dir DIR              a directory on containerd's PATH (default /usr/local/bin)
  --dry-run                  print what would change, as a unified diff, and change nothing
  --create                   write a new config.toml when PATH does not exist
  --containerd-version X     which containerd reads the file (default: \`containerd --version\`);
                             only consulted when the file has no \`version = N\`
`;

const valued: Record<string, "config" | "binDir" | "containerdVersion"> = {
  config: "config",
  "bin-dir": "binDir",
  "containerd-version": "containerdVersion",
};
const booleans: Record<string, "dryRun" | "create" | "help"> = {
  "dry-run": "dryRun",
  create: "create",
  help: "help",
  h: "help",
};

/** `--flag value`, `--flag=value` and the single-dash forms, like the rest of the binary's flags. */
export function parseInstallFlags(argv: readonly string[]): InstallFlags {
  const flags: InstallFlags = {
    config: "/etc/containerd/config.toml",
    binDir: "/usr/local/bin",
    dryRun: false,
    create: false,
    containerdVersion: undefined,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-")) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name in valued) {
      const value = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new Error(`${arg} needs a value`);
      flags[valued[name]!] = value;
    } else if (name in booleans && eq < 0) {
      flags[booleans[name]!] = true;
    } else {
      throw new Error(`unknown option ${arg}`);
    }
  }
  return flags;
}
