import { copyFile, link, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { buildComponents } from "./components.ts";
import { type ImageFile, writeOciImage } from "./oci-image.ts";
import type { ImageRef } from "./images.ts";
import { packageDir } from "./paths.ts";
import { buildPrograms, programPath } from "./programs.ts";

/**
 * The corpus of real programs (issue 9): our own C, Rust and JavaScript programs built by real
 * toolchains, and Yosys as the YoWASP project built and published it on npm (a 30 MB C++ WASI
 * preview1 command; `gen/yosys.core.wasm` is the module before YoWASP wraps it for jco).
 * All of them go into one image, in two variants: with WORKDIR /app and with none.
 */
export const corpusImageRefs = {
  workdir: "localhost/wasm-corpus:workdir",
  root: "localhost/wasm-corpus:root",
} as const;
export type CorpusImage = keyof typeof corpusImageRefs;
export const corpusWorkdir = "/app";

export interface CorpusProgram {
  /** e.g. `fs-tour-c`; the image holds it at `/bin/<name>.wasm`. */
  name: string;
  source: string;
  component: boolean;
}

/** The Yosys module from the pinned @yowasp/yosys (a devDependency: the lockfile fetches it, never the build). */
export const yosysModule = join(packageDir, "node_modules", "@yowasp", "yosys", "gen", "yosys.core.wasm");

const own = ["fs-tour-c", "cwd-chdir-c", "args-env-c", "clock-sleep-c", "stdin-count-c", "tour-rust"];

export function corpusPrograms(): CorpusProgram[] {
  return [
    ...own.map((name) => ({ name, source: programPath(name), component: false })),
    { name: "tour-js", source: programPath("tour-js"), component: true },
    { name: "yosys", source: yosysModule, component: false },
  ];
}

/** Path of a program inside the image. */
export const programInImage = (name: string) => `/bin/${name}.wasm`;

const design = `// A 4-bit counter with synchronous reset, for Yosys.
module counter(input clk, input rst, output reg [3:0] q);
  always @(posedge clk) if (rst) q <= 0; else q <= q + 1;
endmodule
`;

/**
 * The image's files besides the programs: the same names at / and in /app with different contents,
 * so a relative path shows which directory it was resolved in.
 */
export const corpusDataFiles: { path: string; content: string }[] = [
  { path: "/etc/corpus/app.conf", content: "app.conf from the image\n" },
  { path: "/data.txt", content: "data.txt at the top of /\n" },
  { path: "/app/data.txt", content: "data.txt in /app\n" },
  { path: "/app/nested/deep/file.txt", content: "a nested file in /app\n" },
  { path: "/app/design.v", content: design },
  { path: "/design.v", content: design.replace("module counter(", "module counter_at_root(") },
];
/** Empty directories: /tmp, and /data where the suite mounts a volume. */
export const corpusDirs = ["/tmp", "/data"];
export const corpusEnv = ["PATH=/bin", "CORPUS_FROM_IMAGE=yes"];

function imageFiles(): ImageFile[] {
  return [
    ...corpusDataFiles.map((f) => ({ path: f.path, content: f.content })),
    ...corpusPrograms().map((p) => ({ path: programInImage(p.name), source: p.source, mode: 0o755 })),
  ];
}

/** Builds the programs (cached by stamps) and writes both image variants into `outDir`. */
export async function buildCorpusImages(outDir: string): Promise<Record<CorpusImage, ImageRef>> {
  await buildPrograms();
  await buildComponents();
  const files = imageFiles();
  const base = {
    files,
    dirs: corpusDirs,
    env: corpusEnv,
    os: "wasip1",
    architecture: "wasm",
    gzipLevel: 1,
    entrypoint: [programInImage("fs-tour-c")],
  };
  const out = {} as Record<CorpusImage, ImageRef>;
  for (const variant of ["workdir", "root"] as const) {
    const tarball = join(outDir, `wasm-corpus-${variant}.tar`);
    await writeOciImage(tarball, {
      ...base,
      ref: corpusImageRefs[variant],
      ...(variant === "workdir" ? { workingDir: corpusWorkdir } : {}),
    });
    out[variant] = { ref: corpusImageRefs[variant], tarball };
  }
  return out;
}

/** Lays out `dir` as the image's root filesystem (programs hard-linked where possible), for running the same module on the host. */
export async function layOutCorpusRoot(dir: string): Promise<void> {
  for (const d of corpusDirs) await mkdir(join(dir, d), { recursive: true });
  for (const f of imageFiles()) {
    const to = join(dir, f.path);
    await mkdir(dirname(to), { recursive: true });
    if (f.content !== undefined) await writeFile(to, f.content);
    else await link(f.source!, to).catch(() => copyFile(f.source!, to));
  }
}

/** The module bytes of a corpus program on the host. */
export async function corpusModule(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const program = corpusPrograms().find((p) => p.name === name);
  if (!program) throw new Error(`no corpus program ${name}`);
  return new Uint8Array(await readFile(program.source));
}
