// Build step: the WASI preview1 command adapter (51 KB) ships inside @bytecodealliance/jco, which
// pnpm installs from the lockfile as a devDependency (its heavy dependencies are overridden away
// in the root package.json). This copies that one file into dist/adapter/, where src/adapter.ts
// finds it by URL (and tools/sea-assets.mjs embeds it in the executable). Nothing is downloaded.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const pkg = join(import.meta.dirname, "..", "node_modules", "@bytecodealliance", "jco");
const ADAPTER = join(pkg, "lib", "wasi_snapshot_preview1.command.wasm");
const ADAPTER_SHA256 = "2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94";

const dist = join(import.meta.dirname, "..", "dist");
const out = join(dist, "adapter", "wasi_snapshot_preview1.command.wasm");
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

if (!existsSync(ADAPTER)) throw new Error(`${ADAPTER} is missing: run pnpm install --frozen-lockfile`);
const bytes = readFileSync(ADAPTER);
const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
if (sha256(bytes) !== ADAPTER_SHA256) throw new Error(`the preview1 adapter in @bytecodealliance/jco ${version} is not the pinned one (sha256 ${sha256(bytes)})`);
if (!existsSync(out) || sha256(readFileSync(out)) !== ADAPTER_SHA256) {
  mkdirSync(join(dist, "adapter"), { recursive: true });
  writeFileSync(`${out}.${process.pid}.tmp`, bytes);
  renameSync(`${out}.${process.pid}.tmp`, out);
}
