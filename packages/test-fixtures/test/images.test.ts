import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImages, fixtureNames, fixturePath, negativeFixtureFiles, type TestImages } from "../src/index.ts";
import { readImage } from "./read-image.ts";

// The images are what the containerd tests import; this machine has busybox-static installed.
describe.skipIf(!existsSync("/bin/busybox"))("buildTestImages", () => {
  let tmp: string;
  let images: TestImages;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "images-test-"));
    images = await buildTestImages(join(tmp, "out"));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("returns refs and tarball paths", () => {
    expect(images).toEqual({
      fixtures: { ref: "localhost/wasm-fixtures:test", tarball: join(tmp, "out", "wasm-fixtures.tar") },
      busybox: { ref: "localhost/busybox:test", tarball: join(tmp, "out", "busybox.tar") },
    });
  });

  it("puts every fixture in the wasm image", async () => {
    const image = readImage(images.fixtures.tarball);
    expect(image.index.manifests[0]?.annotations?.["io.containerd.image.name"]).toBe(images.fixtures.ref);
    expect(image.config).toMatchObject({
      architecture: "wasm",
      os: "wasip1",
      config: { Entrypoint: ["/hello.wasm"], Env: ["PATH=/", "GREETING=hello"] },
    });
    const byName = new Map(image.layer.map((r) => [r.name, r]));
    for (const file of [...fixtureNames.map((n) => `${n}.wasm`), ...negativeFixtureFiles]) {
      const record = byName.get(file);
      expect(record, file).toMatchObject({ type: "0", mode: 0o755 });
      expect(Buffer.compare(record?.data ?? new Uint8Array(), await readFile(fixturePath(file))), file).toBe(0);
    }
    expect(byName.get("data/")).toMatchObject({ type: "5" });
    expect(image.layer).toHaveLength(fixtureNames.length + negativeFixtureFiles.length + 1);
  });

  it("builds the busybox image from the static binary", async () => {
    const image = readImage(images.busybox.tarball);
    expect(image.index.manifests[0]?.annotations?.["io.containerd.image.name"]).toBe(images.busybox.ref);
    expect(image.config).toMatchObject({ os: "linux", config: { Cmd: ["/bin/sh"] } });
    const byName = new Map(image.layer.map((r) => [r.name, r]));
    expect(Buffer.compare(byName.get("bin/busybox")?.data ?? new Uint8Array(), await readFile("/bin/busybox"))).toBe(0);
    expect(byName.get("bin/busybox")?.mode).toBe(0o755);
    for (const applet of ["sh", "sleep", "echo", "cat"]) {
      expect(byName.get(`bin/${applet}`)).toMatchObject({ type: "2", linkname: "busybox" });
    }
    expect(byName.get("tmp/")).toMatchObject({ type: "5" });
    expect(byName.get("data/")).toMatchObject({ type: "5" });
  });

  it("gives identical bytes when rebuilt", async () => {
    const again = await buildTestImages(join(tmp, "again"));
    for (const key of ["fixtures", "busybox"] as const) {
      const [a, b] = await Promise.all([readFile(images[key].tarball), readFile(again[key].tarball)]);
      expect(Buffer.compare(a, b), key).toBe(0);
    }
  });
});
