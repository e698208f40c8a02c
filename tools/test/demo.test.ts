import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const engines = ["jco", "node", "wasmer"];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The demo's block for one runtime: from its ═══ header to the next one (or the end). */
function section(out: string, engine: string): string {
  const start = out.indexOf(`═══ io.containerd.${engine}.v1`);
  if (start < 0) return "";
  const next = out.indexOf("═══", start + 3);
  return out.slice(start, next < 0 ? undefined : next);
}

// The README's first command, as a newcomer runs it: a fresh clone (of what is committed) and an
// empty npm cache. The pnpm store may be warm; the lockfile decides what is installed either way.
describe("tools/demo.sh from a fresh clone with an empty npm cache", () => {
  let work: string;
  let clone: string;
  let env: NodeJS.ProcessEnv;
  let demo: Run;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "demo-clone-"));
    clone = join(work, "repo");
    const cloned = await run("git", ["clone", "--quiet", root, clone], { cwd: work });
    expect(cloned.code, cloned.stderr).toBe(0);
    env = { ...process.env, npm_config_cache: mkdtempSync(join(work, "npm-cache-")) };
    demo = await run("bash", ["tools/demo.sh"], { cwd: clone, env });
  }, 1_200_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("exits 0 and says every run did what it announced", () => {
    expect(demo.code, `${demo.stdout}\n${demo.stderr.slice(-4000)}`).toBe(0);
    expect(demo.stdout).toContain("demo: every run did what it announced");
    expect(demo.stdout).toContain("left behind: nothing");
    expect(demo.stdout).not.toContain("FAILED");
  });

  it.each(engines)("shows the %s guests' own output and statuses", (engine) => {
    const out = section(demo.stdout, engine);
    expect(out).toMatch(/^ {3}│ hello from wasm$/m);
    expect(out).toMatch(/^ {3}│ arg:second$/m);
    expect(out).toMatch(/^ {3}│ env:DEMO=yes$/m);
    expect(out).toMatch(/^ {3}exit status 42, \d+ ms: ok$/m);
    expect(out).toMatch(/^ {3}│ native beside wasm$/m);
    expect(out).toMatch(/not a valid WebAssembly module/);
    // Programs from real toolchains, in an image with WORKDIR /app: relative paths resolve there.
    expect(out).toMatch(/^ {3}│ getcwd: \/app$/m);
    expect(out).toMatch(/^ {3}│ data.txt: data.txt in \/app$/m);
    expect(out).toMatch(/^ {3}│ relative data.txt: data.txt in \/app$/m);
    if (engine === "jco") expect(out).toMatch(/^ {3}│ arg\[1\]=<two words> \(9 chars\)$/m);
    expect(out.match(/: ok$/gm)).toHaveLength(engine === "jco" ? 8 : 7);
  });

  it("builds without the network once pnpm has installed from the lockfile", async () => {
    // A fresh network namespace has only a loopback that is down: any download fails the build.
    const build = await run("unshare", ["--net", "--", "pnpm", "exec", "turbo", "run", "build", "--force"], {
      cwd: clone,
      env: { ...env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    });
    expect(build.code, `${build.stdout.slice(-3000)}\n${build.stderr.slice(-3000)}`).toBe(0);
  }, 600_000);

  it("exits 1 and names the failure when a run does not do what it announced", async () => {
    // A shim that cannot even start: every one of its runs fails.
    const fake = join(clone, "dist", "bin", "containerd-shim-broken-v1");
    writeFileSync(fake, "#!/bin/sh\necho 'broken shim' >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    const failing = await run("bash", ["tools/demo.sh"], { cwd: clone, env });
    expect(failing.code).toBe(1);
    expect(section(failing.stdout, "broken")).toContain("FAILED");
    expect(failing.stderr).toMatch(/demo: \d+ run\(s\) did not do what they announced/);
    rmSync(fake);
  }, 600_000);
});
