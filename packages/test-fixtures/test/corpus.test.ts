import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildCorpusImages,
  corpusDataFiles,
  corpusPrograms,
  layOutCorpusRoot,
  yosysModule,
  type CorpusImage,
} from "../src/index.ts";
import type { ImageRef } from "../src/images.ts";
import { readImage } from "./read-image.ts";

describe("the corpus of real programs", () => {
  let dir: string;
  let images: Record<CorpusImage, ImageRef>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "corpus-fixtures-"));
    images = await buildCorpusImages(dir);
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("Yosys from npm is a WASI preview1 command, as its publisher built it", async () => {
    const module = await WebAssembly.compile(readFileSync(yosysModule));
    expect(WebAssembly.Module.imports(module).every((i) => i.module === "wasi_snapshot_preview1")).toBe(true);
    expect(
      WebAssembly.Module.exports(module)
        .map((e) => e.name)
        .sort(),
    ).toEqual(["_start", "memory"]);
  });

  it("builds the same files into an image with WORKDIR /app and one without", () => {
    const workdir = readImage(images.workdir.tarball);
    const root = readImage(images.root.tarball);
    expect(workdir.config.config).toMatchObject({ WorkingDir: "/app", Env: ["PATH=/bin", "CORPUS_FROM_IMAGE=yes"] });
    expect((root.config.config as { WorkingDir?: string }).WorkingDir ?? "").toBe("");
    expect(workdir.layer.map((r) => r.name)).toEqual(root.layer.map((r) => r.name));
    const byName = new Map(workdir.layer.map((r) => [r.name, r]));
    for (const p of corpusPrograms())
      expect(Buffer.compare(byName.get(`bin/${p.name}.wasm`)!.data, readFileSync(p.source)), p.name).toBe(0);
    for (const f of corpusDataFiles)
      expect(Buffer.from(byName.get(f.path.slice(1))!.data).toString(), f.path).toBe(f.content);
    expect(byName.get("tmp/")).toMatchObject({ type: "5" });
  });

  it("lays out a host directory as the image's root, for the reference run", async () => {
    const root = join(dir, "root");
    await layOutCorpusRoot(root);
    expect(readFileSync(join(root, "app/data.txt"), "utf8")).toBe("data.txt in /app\n");
    expect(Buffer.compare(readFileSync(join(root, "bin/yosys.wasm")), readFileSync(yosysModule))).toBe(0);
  });
});
