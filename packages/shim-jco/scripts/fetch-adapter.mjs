// Build step: the WASI preview1 command adapter (51 KB) ships only inside the full
// @bytecodealliance/jco package (337 MB installed with its dependencies). Its own tarball is 183 KB,
// so the build packs just that tarball with npm, checks it against the pinned integrity, and takes
// the one file into dist/adapter/, where src/adapter.ts finds it by URL (and tools/sea-assets.mjs
// embeds it in the executable).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const JCO = "@bytecodealliance/jco@1.35.0";
const TARBALL_SHA512 = "O53cWIMm/M1SpwLxKRicvAMDnzWf4zWs6I6qFZIGbn3HUovDMCCe9blkGxxYuyocHjVf/cXgNmlMu/x7Tyi77A==";
const ADAPTER = "package/lib/wasi_snapshot_preview1.command.wasm";
const ADAPTER_SHA256 = "2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94";

const dist = join(import.meta.dirname, "..", "dist");
const out = join(dist, "adapter", "wasi_snapshot_preview1.command.wasm");
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

function fetchAdapter() {
  if (existsSync(out) && sha256(readFileSync(out)) === ADAPTER_SHA256) return;
  const t0 = performance.now();
  mkdirSync(dist, { recursive: true });
  const tmp = mkdtempSync(join(dist, ".adapter-"));
  try {
    const tgz = execFileSync("npm", ["pack", JCO, "--pack-destination", tmp, "--silent"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop();
    const digest = createHash("sha512").update(readFileSync(join(tmp, tgz))).digest("base64");
    if (digest !== TARBALL_SHA512) throw new Error(`${JCO} tarball has sha512 ${digest}, expected ${TARBALL_SHA512}`);
    execFileSync("tar", ["-xzf", join(tmp, tgz), "-C", tmp, ADAPTER]);
    const bytes = readFileSync(join(tmp, ADAPTER));
    if (sha256(bytes) !== ADAPTER_SHA256) throw new Error(`adapter sha256 mismatch in ${JCO}`);
    mkdirSync(join(dist, "adapter"), { recursive: true });
    writeFileSync(`${out}.${process.pid}.tmp`, bytes);
    renameSync(`${out}.${process.pid}.tmp`, out);
    console.error(`[shim-jco] fetched the preview1 adapter from ${JCO} (${Math.round(performance.now() - t0)} ms)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

fetchAdapter();
