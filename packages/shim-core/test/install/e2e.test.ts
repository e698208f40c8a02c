import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type TomlTable } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, type TestImages } from "@wasm-shims/test-fixtures";
import { Containerd } from "@wasm-shims/test-lab/containerd.ts";

// Every engine built into dist/bin, installed by its own `install` into containerd 1.6's default
// config (given this machine's private paths), then run side by side by one containerd.
const distBin = fileURLToPath(new URL("../../../../dist/bin/", import.meta.url));
const engines = (existsSync(distBin) ? readdirSync(distBin) : [])
  .map((f) => /^containerd-shim-(\w+)-v1$/.exec(f)?.[1])
  .filter((e) => e !== undefined)
  .sort();
const defaultConfig = readFileSync(new URL("fixtures/containerd-1.6-default.toml", import.meta.url), "utf8");

/** Sets `key` in the table whose header line is `header`, as text, like a person editing the file. */
function setKey(text: string, header: string, key: string, value: unknown): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === header);
  const at = lines.findIndex((l, i) => i > start && l.trim().startsWith(`${key} = `));
  if (start < 0 || at < 0 || lines.slice(start + 1, at).some((l) => l.trim().startsWith("[")))
    throw new Error(`no ${key} under ${header}`);
  lines[at] = `${/^\s*/.exec(lines[at]!)![0]}${key} = ${JSON.stringify(value)}`;
  return lines.join("\n");
}

/** The default config with the paths and settings the harness chose for this machine. */
function privateDefault(harness: TomlTable): string {
  const cri = (harness["plugins"] as TomlTable)["io.containerd.grpc.v1.cri"] as TomlTable;
  const criHeader = '[plugins."io.containerd.grpc.v1.cri"]';
  let text = defaultConfig;
  for (const key of ["root", "state", "disabled_plugins"])
    text = text.replace(new RegExp(`^${key} = .*$`, "m"), `${key} = ${JSON.stringify(harness[key])}`);
  for (const table of ["grpc", "ttrpc", "debug"])
    text = setKey(text, `[${table}]`, "address", (harness[table] as TomlTable)["address"]);
  text = setKey(
    text,
    '[plugins."io.containerd.internal.v1.opt"]',
    "path",
    ((harness["plugins"] as TomlTable)["io.containerd.internal.v1.opt"] as TomlTable)["path"],
  );
  text = setKey(text, criHeader, "sandbox_image", cri["sandbox_image"]);
  text = setKey(text, criHeader, "restrict_oom_score_adj", cri["restrict_oom_score_adj"]);
  for (const key of ["bin_dir", "conf_dir"])
    text = setKey(text, '[plugins."io.containerd.grpc.v1.cri".cni]', key, (cri["cni"] as TomlTable)[key]);
  return text;
}

describe.skipIf(engines.length === 0)(`installed side by side: ${engines.join(", ")}`, () => {
  let ctd: Containerd;
  let images: TestImages;
  let work: string;
  let configFile = "";
  let baseline = "";
  const binDir = () => join(work, "bin");
  const shim = (engine: string, ...args: string[]) =>
    execFileSync(join(distBin, `containerd-shim-${engine}-v1`), args, { encoding: "utf8", stdio: "pipe" });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "install-e2e-"));
    images = await buildTestImages(work);
    ctd = await Containerd.start({
      cri: true,
      shimDir: binDir(),
      editConfig: (file) => {
        configFile = file;
        baseline = privateDefault(parse(readFileSync(file, "utf8")));
        writeFileSync(file, baseline);
        for (const engine of engines) shim(engine, "install", "--config", file, "--bin-dir", binDir());
      },
    });
    await ctd.importImage(images.fixtures.tarball);
  }, 300_000);

  afterAll(async () => {
    await ctd?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("runs a Wasm image through every installed runtime at once", async () => {
    const results = await Promise.all(
      engines.map((engine) =>
        ctd
          .ctr(
            [
              "run",
              "--rm",
              "--runtime",
              `io.containerd.${engine}.v1`,
              images.fixtures.ref,
              `install-${engine}-${process.pid}`,
            ],
            { timeoutMs: 60_000 },
          )
          .then(
            (r) => ({ engine, code: r.code, stdout: r.stdout }),
            (err: Error) => ({ engine, code: -1, stdout: err.message }),
          ),
      ),
    );
    expect(results).toEqual(engines.map((engine) => ({ engine, code: 0, stdout: "hello from wasm\n" })));
  }, 180_000);

  it("has CRI loaded with every runtime registered", async () => {
    const plugins = await ctd.ctr(["plugins", "ls"]);
    expect(plugins.stdout).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+\S+\s+ok/);
    const dump = parse(execFileSync("containerd", ["--config", configFile, "config", "dump"], { encoding: "utf8" }));
    const runtimes = (
      ((dump["plugins"] as TomlTable)["io.containerd.grpc.v1.cri"] as TomlTable)["containerd"] as TomlTable
    )["runtimes"] as TomlTable;
    for (const engine of engines)
      expect(runtimes[`wasm-${engine}`]).toMatchObject({ runtime_type: `io.containerd.${engine}.v1` });
    expect(runtimes["runc"]).toMatchObject({ runtime_type: "io.containerd.runc.v2" });
  });

  it("uninstalls back to the original bytes and removes the copied shims", () => {
    for (const engine of engines) shim(engine, "uninstall", "--config", configFile, "--bin-dir", binDir());
    expect(readFileSync(configFile, "utf8")).toBe(baseline);
    expect(readdirSync(binDir())).toEqual([]);
  });
});
