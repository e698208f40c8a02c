import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runInstaller } from "../../src/install/command.ts";

const fixtures = new URL("fixtures/", import.meta.url);
let dir: string;
let output: string;

const run = (action: "install" | "uninstall", ...argv: string[]) => {
  output = "";
  runInstaller({
    engine: "node",
    action,
    argv: ["--config", join(dir, "config.toml"), "--bin-dir", join(dir, "bin"), ...argv],
    executable: join(dir, "shim"),
    out: (t) => (output += t),
  });
};
const files = () => readdirSync(dir).sort();
const config = () => readFileSync(join(dir, "config.toml"), "utf8");

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "install-"));
  writeFileSync(join(dir, "shim"), "#!/bin/sh\necho pretend shim\n", { mode: 0o755 });
  copyFileSync(new URL("containerd-1.6-default.toml", fixtures), join(dir, "config.toml"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("install and uninstall on disk", () => {
  it("copies the executable, backs the config up once, and is a no-op the second time", () => {
    const original = config();
    run("install");
    expect(readFileSync(join(dir, "bin/containerd-shim-node-v1"), "utf8")).toContain("pretend shim");
    expect(statSync(join(dir, "bin/containerd-shim-node-v1")).mode & 0o777).toBe(0o755);
    expect(config()).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasm-node]');
    const backups = files().filter((f) => f.startsWith("config.toml.bak-"));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!), "utf8")).toBe(original);
    expect(output).toMatch(/systemctl restart containerd/);
    expect(output).toMatch(/handler: wasm-node/);

    const after = config();
    run("install");
    expect(config()).toBe(after);
    expect(files().filter((f) => f.startsWith("config.toml.bak-"))).toHaveLength(1);
    expect(output).toMatch(/already installed/);

    run("uninstall");
    expect(config()).toBe(original);
    expect(existsSync(join(dir, "bin/containerd-shim-node-v1"))).toBe(false);
    expect(files().filter((f) => f.startsWith(".config.toml"))).toEqual([]);
  });

  it("prints a unified diff for --dry-run that patch(1) applies, and writes nothing", () => {
    const before = files();
    const original = config();
    run("install", "--dry-run");
    expect(files()).toEqual(before);
    expect(config()).toBe(original);
    expect(output).toMatch(/^\[dry run\] would copy /m);
    const diff = output.slice(output.indexOf("--- a/"));
    expect(diff).toMatch(/^\+\s+\[plugins\."io\.containerd\.grpc\.v1\.cri"\]?.*wasm-node\]$/m);
    writeFileSync(join(dir, "change.diff"), diff);
    execFileSync("patch", ["-s", join(dir, "config.toml"), join(dir, "change.diff")]);
    const patched = config();
    expect(patched).not.toBe(original);
    run("install");
    expect(config()).toBe(patched);
    expect(output).toMatch(/already installed; nothing to change/);
  });

  it("refuses a missing config unless --create, then writes a minimal one", () => {
    rmSync(join(dir, "config.toml"));
    expect(() => run("install")).toThrow(/does not exist .*--create/);
    expect(existsSync(join(dir, "bin"))).toBe(false);
    run("install", "--create", "--containerd-version", "2.1.0");
    expect(config()).toMatch(/^version = 3$/m);
    expect(config()).toContain("[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.wasm-node]");
  });

  it("leaves an invalid or unreadable config exactly as it was, with no backup or temporary file", () => {
    copyFileSync(new URL("invalid.toml", fixtures), join(dir, "config.toml"));
    const before = files();
    expect(() => run("install")).toThrow(/not valid TOML \(line 5/);
    expect(files()).toEqual(before);
    expect(config()).toBe(readFileSync(new URL("invalid.toml", fixtures), "utf8"));
    rmSync(join(dir, "config.toml"));
    mkdirSync(join(dir, "config.toml"));
    expect(() => run("install")).toThrow(/is a directory/);
  });

  it("rejects unknown options and explains itself with --help", () => {
    expect(() => run("install", "--frobnicate")).toThrow(/unknown option --frobnicate/);
    run("install", "--help");
    expect(output).toMatch(/--dry-run/);
  });
});
