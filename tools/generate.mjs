// Regenerates packages/shim-core/src/gen from proto/ with buf + protoc-gen-es.
// `--check` generates into a temporary directory and fails if the committed code differs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const gen = join(root, "packages/shim-core/src/gen");
const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`, BUF_CACHE_DIR: join(tmpdir(), "buf-cache") };

function generate(output = root) {
  execFileSync("buf", ["generate", "--output", output], { cwd: root, env, stdio: "inherit" });
}

if (process.argv.includes("--check")) {
  // Generated beside, never over, the committed code: a failed check leaves the tree as it was.
  const out = mkdtempSync(join(tmpdir(), "gen-check-"));
  try {
    generate(out);
    execFileSync("diff", ["-r", gen, join(out, relative(root, gen))], { stdio: "inherit" });
  } catch {
    console.error("generated protobuf code is out of date: run `pnpm generate` and commit the result");
    process.exitCode = 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
} else {
  generate();
}
