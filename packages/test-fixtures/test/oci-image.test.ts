import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImageSpec, ociArchitecture, refTag, tarArchive, writeOciImage } from "../src/index.ts";
import { readImage, readTar, sha256 } from "./read-image.ts";

let tmp: string;
let spec: ImageSpec;
const longDir = `/deep/${"d".repeat(90)}/${"e".repeat(40)}`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "oci-image-test-"));
  const source = join(tmp, "tool");
  await writeFile(source, "#!/bin/sh\necho tool\n");
  await chmod(source, 0o750);
  spec = {
    ref: "registry.local:5000/group/sample:v1",
    files: [
      { path: "/etc/motd", content: "hi\n" },
      { path: "/usr/bin/tool", source },
      { path: "/bin.bin", content: Uint8Array.of(1, 2, 3), mode: 0o600 },
      { path: `${longDir}/file.txt`, content: "deep\n" },
    ],
    symlinks: [{ path: "/usr/bin/alias", target: "tool" }],
    dirs: ["/empty", "/usr"],
    entrypoint: ["/usr/bin/tool"],
    cmd: ["--flag"],
    env: ["A=1"],
    workingDir: "/etc",
  };
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("writeOciImage", () => {
  it("writes an OCI layout whose descriptors match their blobs", async () => {
    const out = join(tmp, "nested", "sample.tar");
    const { manifestDigest } = await writeOciImage(out, spec);
    const image = readImage(out);

    expect(JSON.parse(new TextDecoder().decode(image.files.get("oci-layout")))).toEqual({
      imageLayoutVersion: "1.0.0",
    });
    expect([...image.files.keys()].filter((n) => n.startsWith("blobs/sha256/") && !n.endsWith("/"))).toHaveLength(3);
    expect(image.index.manifests).toHaveLength(1);
    const entry = image.index.manifests[0];
    expect(entry?.digest).toBe(manifestDigest);
    expect(entry?.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    // containerd 1.6's import filter would drop a wasm platform here, so there must be none.
    expect(entry).not.toHaveProperty("platform");
    expect(entry?.annotations).toEqual({
      "io.containerd.image.name": "registry.local:5000/group/sample:v1",
      "org.opencontainers.image.ref.name": "v1",
    });

    expect(image.manifest.layers).toHaveLength(1);
    expect(image.manifest.layers[0]?.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    expect(image.config).toEqual({
      architecture: ociArchitecture(),
      os: "linux",
      config: { Entrypoint: ["/usr/bin/tool"], Cmd: ["--flag"], Env: ["A=1"], WorkingDir: "/etc" },
      rootfs: { type: "layers", diff_ids: [sha256(image.layerTar)] },
    });
  });

  it("writes a layer with parents first, modes and links", async () => {
    const out = join(tmp, "layer.tar");
    await writeOciImage(out, spec);
    const { layer } = readImage(out);
    const names = layer.map((r) => r.name);
    for (const [i, name] of names.entries()) {
      const parts = name.replace(/\/$/, "").split("/");
      for (let n = 1; n < parts.length; n++) {
        expect(names.indexOf(`${parts.slice(0, n).join("/")}/`), `parent of ${name}`).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(`${parts.slice(0, n).join("/")}/`)).toBeLessThan(i);
      }
    }
    expect(new Set(names).size).toBe(names.length);
    const byName = new Map(layer.map((r) => [r.name, r]));
    expect(byName.get("etc/motd")).toMatchObject({ type: "0", mode: 0o644, uid: 0, gid: 0, mtime: 0 });
    expect(new TextDecoder().decode(byName.get("etc/motd")?.data)).toBe("hi\n");
    expect(byName.get("usr/bin/tool")).toMatchObject({ type: "0", mode: 0o750 });
    expect([...(byName.get("bin.bin")?.data ?? [])]).toEqual([1, 2, 3]);
    expect(byName.get("bin.bin")?.mode).toBe(0o600);
    expect(byName.get("usr/bin/alias")).toMatchObject({ type: "2", linkname: "tool" });
    expect(byName.get("empty/")).toMatchObject({ type: "5", mode: 0o755 });
    expect(byName.get(`${longDir.slice(1)}/file.txt`)).toMatchObject({ type: "0" });
  });

  it("agrees with GNU tar", async () => {
    const out = join(tmp, "gnu.tar");
    await writeOciImage(out, spec);
    const image = readImage(out);
    const layerFile = join(tmp, "layer.tar.gz");
    const layer = image.files.get(`blobs/sha256/${image.manifest.layers[0]?.digest.slice(7)}`);
    await writeFile(layerFile, layer ?? new Uint8Array());
    const listed = execFileSync("tar", ["-tzf", layerFile], { encoding: "utf8" }).trim().split("\n");
    expect(listed).toEqual(image.layer.map((r) => r.name));
    const outer = execFileSync("tar", ["-tf", out], { encoding: "utf8" }).trim().split("\n");
    expect(outer).toEqual(expect.arrayContaining(["oci-layout", "index.json", "blobs/", "blobs/sha256/"]));
  });

  it("is deterministic", async () => {
    const a = join(tmp, "a.tar");
    const b = join(tmp, "b.tar");
    const first = await writeOciImage(a, spec);
    // Cross a second boundary, so any wall-clock time leaking into tar or gzip headers would show.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await writeOciImage(b, spec);
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(Buffer.compare(await readFile(a), await readFile(b))).toBe(0);
  });

  it("rejects paths that would collide or escape the root", async () => {
    const out = join(tmp, "bad.tar");
    await expect(writeOciImage(out, { ref: "x:y", dirs: ["/a", "/a/"] })).rejects.toThrow(/duplicate/);
    await expect(writeOciImage(out, { ref: "x:y", dirs: ["/a/../../etc"] })).rejects.toThrow(/invalid image path/);
    await expect(
      writeOciImage(out, {
        ref: "x:y",
        symlinks: [{ path: "/l", target: "/" }],
        files: [{ path: "/l/f", content: "" }],
      }),
    ).rejects.toThrow(/parent directory/);
  });
});

describe("refTag", () => {
  it("takes the tag after the last path component", () => {
    expect(refTag("localhost/busybox:test")).toBe("test");
    expect(refTag("localhost:5000/busybox")).toBe("latest");
    expect(() => refTag("busybox@sha256:00")).toThrow();
  });
});

describe("tarArchive", () => {
  it("pads to blocks and ends with two zero blocks", () => {
    const bytes = tarArchive([{ type: "file", path: "f", data: new Uint8Array(513), mode: 0o644 }]);
    expect(bytes.length).toBe(512 + 1024 + 1024);
    expect(readTar(bytes).map((r) => [r.name, r.data.length])).toEqual([["f", 513]]);
  });

  it("refuses names ustar cannot hold", () => {
    expect(() => tarArchive([{ type: "dir", path: "x".repeat(101), mode: 0o755 }])).toThrow(/too long/);
  });
});
