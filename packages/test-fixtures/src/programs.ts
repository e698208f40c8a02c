import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { packageDir } from "./paths.ts";

/**
 * Programs we did not hand-write as WAT: C on wasi-libc (Debian's clang) and Rust std (Debian's
 * rustc with libstd-rust-dev-wasm32), compiled from `programs/<lang>/<name>.<ext>` into
 * `dist/programs/<name>.wasm` by the same toolchains a user has.
 */
export const programsDir = join(packageDir, "programs");
export const programsOutDir = join(packageDir, "dist", "programs");

interface Toolchain {
  ext: string;
  /** Debian packages that provide it, for the error message. */
  packages: string;
  compiler: string;
  args: (source: string, out: string) => string[];
}

// Debian's clang finds the multiarch wasi sysroot by itself; rustc must be Debian's (/usr/bin),
// because a rustup toolchain earlier on PATH has no wasm32 std.
const toolchains: Record<string, Toolchain> = {
  c: {
    ext: ".c",
    packages: "clang lld wasi-libc libclang-rt-14-dev-wasm32",
    compiler: "clang",
    args: (src, out) => ["--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-o", out, src],
  },
  rust: {
    ext: ".rs",
    packages: "rustc libstd-rust-dev-wasm32",
    compiler: "/usr/bin/rustc",
    args: (src, out) => ["--edition=2021", "--target", "wasm32-wasi", "-O", "-o", out, src],
  },
};

function compilerVersion(t: Toolchain): string {
  try {
    return execFileSync(t.compiler, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`${t.compiler} is missing: apt-get install ${t.packages}`);
  }
}

/** The built program's path: `programPath("fs-tour-c")` for dist/programs/fs-tour-c.wasm. */
export function programPath(name: string): string {
  return join(programsOutDir, `${name}.wasm`);
}

/** Every program's name: the source's base name plus its language, e.g. `hello-c`, `hello-rust`. */
export async function programNames(): Promise<string[]> {
  const names: string[] = [];
  for (const [lang, t] of Object.entries(toolchains)) {
    const dir = join(programsDir, lang);
    if (!existsSync(dir)) continue;
    for (const f of (await readdir(dir)).filter((f) => extname(f) === t.ext).sort())
      names.push(`${basename(f, t.ext)}-${lang}`);
  }
  return names;
}

/**
 * Compiles every program whose source or compiler changed since its last build (a stamp beside
 * the output records both), so a second build costs a hash per file.
 */
export async function buildPrograms(): Promise<{ files: string[]; written: string[] }> {
  await mkdir(programsOutDir, { recursive: true });
  const files: string[] = [];
  const written: string[] = [];
  for (const [lang, t] of Object.entries(toolchains)) {
    const dir = join(programsDir, lang);
    if (!existsSync(dir)) continue;
    const sources = (await readdir(dir)).filter((f) => extname(f) === t.ext).sort();
    if (sources.length === 0) continue;
    const version = compilerVersion(t);
    for (const file of sources) {
      const src = join(dir, file);
      const out = programPath(`${basename(file, t.ext)}-${lang}`);
      const stamp = createHash("sha256")
        .update(version)
        .update("\0")
        .update(t.args("", "").join(" "))
        .update("\0")
        .update(await readFile(src))
        .digest("hex");
      files.push(out);
      if (existsSync(out) && (await readFile(`${out}.stamp`, "utf8").catch(() => "")) === stamp) continue;
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        execFileSync(t.compiler, t.args(src, tmp), { stdio: ["ignore", "pipe", "pipe"] });
      } catch (err) {
        const e = err as { stderr?: Buffer };
        throw new Error(`compiling programs/${lang}/${file}: ${e.stderr?.toString().trim() || (err as Error).message}`);
      }
      await rename(tmp, out);
      await writeFile(`${out}.stamp`, stamp);
      written.push(out);
    }
  }
  return { files, written };
}
