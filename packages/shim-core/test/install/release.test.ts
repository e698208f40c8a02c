import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// tools/release.sh for one engine and architecture, twice: the tarballs must be byte-identical.
// (A full release, every engine on both architectures, takes minutes per engine: see docs/install.md.)
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "release-"));
const version = "0.0.0-reproducible";
const name = `containerd-shim-node-v1-${version}-linux-x86_64`;
const release = (out: string) =>
  execFileSync("bash", ["tools/release.sh", version, "--engine", "node", "--arch", "x86_64", "--out", out], {
    cwd: root,
    encoding: "utf8",
    stdio: "pipe",
    env: { ...process.env, SOURCE_DATE_EPOCH: "1700000000" },
  });

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("tools/release.sh", () => {
  it("builds the same bytes twice, with a checked SHA256SUMS", () => {
    release(join(work, "a"));
    release(join(work, "b"));
    const a = readFileSync(join(work, "a", `${name}.tar.gz`));
    expect(a.equals(readFileSync(join(work, "b", `${name}.tar.gz`)))).toBe(true);
    expect(readFileSync(join(work, "a/SHA256SUMS"), "utf8")).toBe(readFileSync(join(work, "b/SHA256SUMS"), "utf8"));
    expect(
      execFileSync("sha256sum", ["--check", "--strict", "SHA256SUMS"], { cwd: join(work, "a"), encoding: "utf8" }),
    ).toContain(`${name}.tar.gz: OK`);
    const listing = execFileSync("tar", ["-tvzf", join(work, "a", `${name}.tar.gz`)], { encoding: "utf8" })
      .trim()
      .split("\n");
    expect(listing.map((l) => l.split(/\s+/).pop())).toEqual([
      `${name}/`,
      `${name}/README.md`,
      `${name}/containerd-shim-node-v1`,
    ]);
    for (const line of listing) expect(line).toMatch(/^\S+ 0\/0 .* 2023-11-14 \d\d:\d\d /);
  }, 900_000);

  it("is what tools/install.sh installs from, tarball and all", () => {
    const from = join(work, "from");
    execFileSync("mkdir", ["-p", from]);
    copyFileSync(join(work, "a", `${name}.tar.gz`), join(from, `${name}.tar.gz`));
    const config = join(work, "config.toml");
    copyFileSync(new URL("fixtures/k3s.toml", import.meta.url), config);
    const out = execFileSync(
      "bash",
      ["tools/install.sh", "--from", from, "--config", config, "--bin-dir", join(work, "bin"), "all"],
      { cwd: root, encoding: "utf8" },
    );
    expect(out).toContain("== install node");
    expect(readFileSync(config, "utf8")).toContain(
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasm-node]',
    );
    expect(execFileSync(join(work, "bin/containerd-shim-node-v1"), ["-v"], { encoding: "utf8" })).toContain(
      `Version: ${version}`,
    );
    execFileSync(
      "bash",
      ["tools/install.sh", "--uninstall", "--from", from, "--config", config, "--bin-dir", join(work, "bin"), "node"],
      { cwd: root },
    );
    expect(readFileSync(config, "utf8")).toBe(readFileSync(new URL("fixtures/k3s.toml", import.meta.url), "utf8"));
    expect(readdirSync(join(work, "bin"))).toEqual([]);
  }, 120_000);
});
