// Regenerates packages/shim-core/src/gen from proto/ with buf + protoc-gen-es.
// `--check` regenerates into a temporary copy and fails if the committed code differs.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const gen = join(root, "packages/shim-core/src/gen");
const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`, BUF_CACHE_DIR: join(tmpdir(), "buf-cache") };

function generate() {
  execFileSync("buf", ["generate"], { cwd: root, env, stdio: "inherit" });
}

if (process.argv.includes("--check")) {
  const saved = mkdtempSync(join(tmpdir(), "gen-check-"));
  cpSync(gen, saved, { recursive: true });
  generate();
  try {
    execFileSync("diff", ["-r", saved, gen], { stdio: "inherit" });
  } catch {
    cpSync(saved, gen, { recursive: true });
    console.error("generated protobuf code is out of date: run `pnpm generate` and commit the result");
    process.exit(1);
  } finally {
    rmSync(saved, { recursive: true, force: true });
  }
} else {
  generate();
}
