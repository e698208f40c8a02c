import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isSea } from "../sea/sea.ts";
import { addRuntime, removeRuntime, type Edit, type RuntimeSpec } from "./config-edit.ts";
import { unifiedDiff } from "./diff.ts";
import { backup, binaryState, fileExists, installBinary, readConfig, writeAtomically } from "./files.ts";
import { installUsage, parseInstallFlags, type InstallFlags } from "./flags.ts";

export interface InstallerRun {
  engine: string;
  action: "install" | "uninstall";
  argv: readonly string[];
  /** The executable to copy; the single executable itself when run from the binary. */
  executable: string;
  out: (text: string) => void;
}

/** `containerd-shim-<engine>-v1 install|uninstall …` from the command line: exit status 0 or 1. */
export function installCommand(engine: string, action: "install" | "uninstall", argv: readonly string[]): void {
  const out = (text: string) => process.stdout.write(text);
  try {
    if (action === "install" && !isSea() && !argv.some((a) => /^--?h(elp)?$/.test(a))) {
      throw new Error(
        "install copies the running executable, so run it from the built single executable (containerd-shim-<engine>-v1), not from source",
      );
    }
    runInstaller({ engine, action, argv, executable: process.execPath, out });
  } catch (err) {
    process.stderr.write(
      `containerd-shim-${engine}-v1 ${action}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}

export function runInstaller(run: InstallerRun): void {
  const binary = `containerd-shim-${run.engine}-v1`;
  const flags = parseInstallFlags(run.argv);
  if (flags.help) return run.out(installUsage(binary));
  const spec: RuntimeSpec = { binary, handler: `wasm-${run.engine}`, runtimeType: `io.containerd.${run.engine}.v1` };
  const config = resolve(flags.config);
  const target = join(resolve(flags.binDir), binary);
  const before = readConfig(config);
  if (before === undefined && run.action === "install" && !flags.create) {
    throw new Error(
      `${config} does not exist (containerd then runs on its defaults): pass --create to write a new one with only this runtime, or --config PATH`,
    );
  }
  const edit: Edit =
    run.action === "install"
      ? addRuntime(before ?? "", spec, () => containerdVersion(flags))
      : before === undefined
        ? { text: "", changed: false, notes: [`${config} does not exist; nothing to remove`] }
        : removeRuntime(before, spec);
  const prefix = flags.dryRun ? "[dry run] " : "";
  const note = (line: string) => run.out(`${prefix}${line}\n`);

  // The binary goes first, so the config never names a runtime whose shim is not there.
  if (run.action === "install") {
    const state = binaryState(run.executable, target);
    if (state === "same file" || state === "up to date") note(`${target} is already this executable`);
    else {
      if (!flags.dryRun) {
        mkdirSync(dirname(target), { recursive: true });
        installBinary(run.executable, target);
      }
      const verb = flags.dryRun
        ? state === "missing"
          ? "would copy"
          : "would replace"
        : state === "missing"
          ? "copied"
          : "replaced";
      note(`${verb} ${target} (from ${run.executable})`);
    }
  }

  edit.notes.forEach(note);
  if (edit.changed && flags.dryRun) run.out(unifiedDiff(before ?? "", edit.text, config.replace(/^\//, "")));
  else if (edit.changed && before === undefined) {
    mkdirSync(dirname(config), { recursive: true });
    writeAtomically(config, edit.text);
    note(`created ${config}`);
  } else if (edit.changed) {
    note(`backed up ${config} to ${backup(config)}`);
    writeAtomically(config, edit.text, statSync(config));
    note(`wrote ${config}`);
  }

  if (run.action === "uninstall") {
    if (fileExists(target)) {
      if (!flags.dryRun) rmSync(target);
      note(`${flags.dryRun ? "would remove" : "removed"} ${target}`);
    } else note(`${target} is not there; nothing to remove`);
  }
  if (!flags.dryRun) nextSteps(run, spec, edit.changed);
}

function nextSteps(run: InstallerRun, spec: RuntimeSpec, configChanged: boolean): void {
  if (!configChanged) return;
  run.out(
    `\ncontainerd reads config.toml only when it starts; restart it when convenient (running containers keep running):\n  sudo systemctl restart containerd\n`,
  );
  if (run.action === "install") {
    run.out(
      `then pods can use it with a RuntimeClass whose handler is ${spec.handler}:\n  apiVersion: node.k8s.io/v1\n  kind: RuntimeClass\n  metadata:\n    name: ${spec.handler}\n  handler: ${spec.handler}\n`,
    );
  }
}

function containerdVersion(flags: InstallFlags): string | undefined {
  if (flags.containerdVersion !== undefined) return flags.containerdVersion;
  try {
    return execFileSync("containerd", ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    });
  } catch {
    return undefined;
  }
}
