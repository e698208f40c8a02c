import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildFixtures } from "./build.ts";
import { type ImageFile, ociArchitecture, writeOciImage } from "./oci-image.ts";
import { fixtureNames, fixturePath, negativeFixtureFiles } from "./paths.ts";

export interface ImageRef {
  ref: string;
  /** Absolute path of the tarball for `ctr image import`. */
  tarball: string;
}

export interface TestImages {
  fixtures: ImageRef;
  busybox: ImageRef;
}

export const fixturesImageRef = "localhost/wasm-fixtures:test";
export const busyboxImageRef = "localhost/busybox:test";
const busyboxSource = "/bin/busybox";

/** Returns why `bytes` cannot run in an empty rootfs, or undefined when it is a static ELF. */
function notStatic(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return "is not an ELF file";
  if (bytes[4] !== 2 || bytes[5] !== 1) return undefined; // not 64-bit little-endian: trust the package
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    // PT_INTERP names the dynamic loader, which the image does not contain.
    if (view.getUint32(phoff + i * phentsize, true) === 3) return "is dynamically linked";
  }
  return undefined;
}

async function staticBusybox(): Promise<Uint8Array> {
  const bytes = await readFile(busyboxSource).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const problem = bytes ? notStatic(bytes) : "is missing";
  if (problem || !bytes) {
    throw new Error(
      `${busyboxSource} ${problem}: the busybox test image needs Debian's static busybox (apt-get install busybox-static)`,
    );
  }
  return bytes;
}

/** Every fixture at `/<name>.wasm`, plus the negative fixtures and an empty `/data` to mount or write into. */
async function writeFixturesImage(tarball: string): Promise<void> {
  const files: ImageFile[] = [
    ...fixtureNames.map((name) => ({ path: `/${name}.wasm`, source: fixturePath(name), mode: 0o755 })),
    ...negativeFixtureFiles.map((file) => ({ path: `/${file}`, source: fixturePath(file), mode: 0o755 })),
  ];
  await writeOciImage(tarball, {
    ref: fixturesImageRef,
    files,
    dirs: ["/data"],
    entrypoint: ["/hello.wasm"],
    env: ["PATH=/", "GREETING=hello"],
    os: "wasip1",
    architecture: "wasm",
  });
}

async function writeBusyboxImage(tarball: string): Promise<void> {
  await writeOciImage(tarball, {
    ref: busyboxImageRef,
    files: [{ path: "/bin/busybox", content: await staticBusybox(), mode: 0o755 }],
    symlinks: ["sh", "sleep", "echo", "cat"].map((applet) => ({ path: `/bin/${applet}`, target: "busybox" })),
    dirs: ["/tmp", "/data"],
    cmd: ["/bin/sh"],
    env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    os: "linux",
    architecture: ociArchitecture(),
  });
}

/** Builds the fixtures (fast and idempotent, so always rerun) and returns their directory's files. */
export async function ensureFixtures(): Promise<string[]> {
  return (await buildFixtures()).files;
}

/**
 * Writes `wasm-fixtures.tar` and `busybox.tar` into `outDir` for `ctr image import`.
 * Deterministic: the same inputs give byte-identical tarballs.
 */
export async function buildTestImages(outDir: string): Promise<TestImages> {
  await ensureFixtures();
  const fixtures = { ref: fixturesImageRef, tarball: join(outDir, "wasm-fixtures.tar") };
  const busybox = { ref: busyboxImageRef, tarball: join(outDir, "busybox.tar") };
  await writeFixturesImage(fixtures.tarball);
  await writeBusyboxImage(busybox.tarball);
  return { fixtures, busybox };
}
