// The tour programs' corpus cases (fs-tour, cwd-chdir, tour in Rust and JS) and the inputs they share with cases.ts.
import type { CorpusImage } from "@wasm-shims/test-fixtures";
import type { CorpusCase } from "./cases.ts";

const dataTxt = (cwd: string) => (cwd === "/app" ? "data.txt in /app" : "data.txt at the top of /");

export const args = ["two words", 'a "quoted" arg', "it's", "ünïcödé ✓", "", "  padded  "];
export const env = {
  CORPUS_SPACE: "a b  c",
  CORPUS_QUOTE: `say "hi" 'there'`,
  CORPUS_UTF8: "grüße ✓",
  CORPUS_EMPTY: "",
};
export const envLines = [
  "env <CORPUS_EMPTY=>",
  "env <CORPUS_FROM_IMAGE=yes>",
  `env <CORPUS_QUOTE=say "hi" 'there'>`,
  "env <CORPUS_SPACE=a b  c>",
  "env <CORPUS_UTF8=grüße ✓>",
];
export const stdinText = "first line\nsecond: ünïcödé\n\nlast line without newline";

/** The top of /, /tmp, the volume, and (where it is not /) the working directory by a relative path. */
function tourDirs(image: CorpusImage): string[] {
  return image === "workdir" ? ["/", "/tmp", "/data", "."] : ["/", "/tmp", "/data"];
}

export function fsTourC(image: CorpusImage): CorpusCase {
  const cwd = image === "workdir" ? "/app" : "/";
  const dirs = tourDirs(image);
  return {
    id: `fs-tour-c/${image}`,
    program: "fs-tour-c",
    args: dirs,
    image,
    volume: true,
    exit: 0,
    stdout: [
      ...dirs.map((d) => `list ${d === "/" ? "" : d}/tour-c: copy.txt(11) kept.txt(11) sub/`),
      ...dirs.map((d) => `list ${d === "/" ? "" : d}/tour-c: kept.txt(11)`),
      `getcwd: ${cwd}`,
      "image /etc/corpus/app.conf: app.conf from the image",
      `relative data.txt: ${dataTxt(cwd)}`,
      cwd === "/app"
        ? "relative nested/deep/file.txt: a nested file in /app"
        : "relative nested/deep/file.txt: No such file or directory",
    ],
    volumeFiles: { "tour-c/kept.txt": "alpha\nbeta\n" },
  };
}

export function cwdChdirC(image: CorpusImage, workingDir?: string): CorpusCase {
  const cwd = workingDir ?? (image === "workdir" ? "/app" : "/");
  return {
    id: `cwd-chdir-c/${image}${workingDir ? `+cwd=${workingDir}` : ""}`,
    program: "cwd-chdir-c",
    args: ["/tmp"],
    image,
    ...(workingDir ? { workingDir } : {}),
    exit: 0,
    stdout: [
      `getcwd: ${cwd}`,
      cwd === "/app/nested" ? "data.txt: No such file or directory" : `data.txt: ${dataTxt(cwd)}`,
      "after chdir: /tmp",
      "/tmp/here.txt: written after chdir",
    ],
  };
}

export function tourRust(image: CorpusImage): CorpusCase {
  const cwd = image === "workdir" ? "/app" : "/";
  return {
    id: `tour-rust-fs/${image}`,
    program: "tour-rust",
    args: ["fs", ...tourDirs(image)],
    image,
    volume: true,
    exit: 0,
    stdout: [
      "list: copy.txt(23) kept.txt(23) sub/",
      "list: kept.txt(23)",
      `current_dir: ${cwd}`,
      `relative data.txt: ${dataTxt(cwd)}`,
      "image /etc/corpus/app.conf: app.conf from the image",
    ],
    volumeFiles: { "tour-rust/kept.txt": "alpha\nbeta ünïcödé\n" },
  };
}

export function tourJs(image: CorpusImage): CorpusCase {
  const cwd = image === "workdir" ? "/app" : "/";
  return {
    id: `tour-js-fs/${image}`,
    program: "tour-js",
    args: ["fs", ...tourDirs(image)],
    image,
    volume: true,
    component: true,
    exit: 0,
    stdout: [
      "list: copy.txt(23) kept.txt(23) sub/",
      "list: kept.txt(23)",
      `initial-cwd: ${cwd}`,
      "image /etc/corpus/app.conf: app.conf from the image",
    ],
    volumeFiles: { "tour-js/kept.txt": "alpha\nbeta ünïcödé\n" },
  };
}
