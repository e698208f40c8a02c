// The images, volumes and expectations of the isolation suites (isolation.ts).
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { buildPrograms, ensureFixtures, fixturePath, programPath, writeOciImage } from "@wasm-shims/test-fixtures";
import { hostRuntime } from "@wasm-shims/shim-core/src/wasm/host-libs.ts";
import { shimBinaryDir, type ConformanceOptions } from "./conformance.ts";
import { forbiddenFiles, type Expectations } from "./snoop.ts";

export interface IsolationOptions extends ConformanceOptions {
  /** Host directories the engine keeps for itself (a transpile cache): nothing in them may be seen. */
  privateDirs?: string[];
  /** Files the engine's own file system shows every guest (not the host's), for a guest started as `path`. */
  engineFiles?: (path: string) => string[];
  /**
   * Makes the engine's own kind of module of a preview1 one (jco: a component, with the preview1
   * adapter), so the snoop and the other tenant run as that: each with its own cache entry.
   */
  component?: (module: Uint8Array) => Promise<Uint8Array>;
}

export const snoopRef = "localhost/snoop:test";
/** A walk through an engine that shows a volume's links to "/" as directories takes a while. */
export const WALK_TIMEOUT = 240_000;
export const tenantRef = "localhost/other-tenant:test";
export const escapeRef = "localhost/escapes:test";
/** The image's regular files: a guest may find these and its mounts' files, nothing else. */
export const imageFiles = ["/snoop.wasm", "/sleep.wasm", "/etc/motd"];

export async function writeImages(
  dir: string,
  opts: IsolationOptions,
): Promise<{ snoop: string; tenant: string; escapes: string }> {
  await buildPrograms();
  await ensureFixtures();
  const own = async (file: string) => {
    const bytes = new Uint8Array(await readFile(file));
    return opts.component ? opts.component(bytes) : bytes;
  };
  const snoop = { path: "/snoop.wasm", content: await own(programPath("snoop-c")), mode: 0o755 };
  const tarballs = {
    snoop: join(dir, "snoop.tar"),
    tenant: join(dir, "tenant.tar"),
    escapes: join(dir, "escapes.tar"),
  };
  await writeOciImage(tarballs.snoop, {
    ref: snoopRef,
    files: [
      snoop,
      { path: "/sleep.wasm", source: fixturePath("sleep"), mode: 0o755 },
      { path: "/etc/motd", content: new TextEncoder().encode("the image's own file\n"), mode: 0o644 },
    ],
    dirs: ["/data"],
    entrypoint: ["/snoop.wasm"],
    env: ["PATH=/"],
    os: "wasip1",
    architecture: "wasm",
  });
  // Another workload on the same node, whose files (and jco cache entry) the snoop must not find.
  await writeOciImage(tarballs.tenant, {
    ref: tenantRef,
    files: [{ path: "/hello.wasm", content: await own(fixturePath("hello")), mode: 0o755 }],
    entrypoint: ["/hello.wasm"],
    os: "wasip1",
    architecture: "wasm",
  });
  // Entrypoints that are symlinks out of the rootfs; one that climbs but lands back inside it.
  await writeOciImage(tarballs.escapes, {
    ref: escapeRef,
    files: [snoop],
    symlinks: [
      { path: "/self-exe", target: "/proc/self/exe" },
      { path: "/host-sh", target: "../../bin/sh" },
      { path: "/climbs", target: "../../../snoop.wasm" },
    ],
    entrypoint: ["/snoop.wasm"],
    os: "wasip1",
    architecture: "wasm",
  });
  return tarballs;
}

/** A volume whose symlinks point at "/" and up, and host secrets just outside it and the rootfs. */
export function makeVolume(dir: string, marker: string): string {
  const vol = join(dir, "vol");
  mkdirSync(join(vol, "data"), { recursive: true });
  writeFileSync(join(vol, "data", "note.txt"), "in the volume\n");
  symlinkSync("/", join(vol, "data", "root"));
  symlinkSync("../../..", join(vol, "data", "up"));
  symlinkSync("..", join(vol, "data", "parent"));
  writeFileSync(join(vol, "SECRET.txt"), `${marker}\n`);
  writeFileSync(join(dir, "SECRET.txt"), `${marker}\n`);
  return join(vol, "data");
}

/** What the guest must never see on this node: the runner's files, the host's, other tenants'. */
export async function expectations(
  opts: IsolationOptions,
  allowedFiles: string[],
  allowedDevFiles: string[] = [],
  guest = "/snoop.wasm",
): Promise<Expectations> {
  const binary = join(shimBinaryDir(opts), `containerd-shim-${opts.engine}-v1`);
  const host = await hostRuntime(binary);
  const assetDirs = readdirSync("/run/containerd-shim-assets")
    .filter((d) => d.startsWith(`containerd-shim-${opts.engine}-v1-`))
    .map((d) => join("/run/containerd-shim-assets", d));
  const privateDirs = opts.privateDirs ?? [];
  const privateNames = privateDirs.flatMap((d) => readdirSync(d).filter((n) => !n.startsWith(".")));
  return {
    // The volume's links to "/" lead into the container's own root (engines that follow them).
    rootAliases: ["/data/root", "/data/up", "/data/parent"],
    allowedFiles: [...allowedFiles, ...(opts.engineFiles?.(guest) ?? [])],
    allowedDevFiles,
    forbidden: forbiddenFiles([host.loader, host.binary, ...host.libs, ...assetDirs, ...privateDirs]),
    forbiddenNames: [
      ".wasm-shim",
      "wasm-shim-ro-",
      "containerd-shim-assets",
      `containerd-shim-${opts.engine}-v1`,
      ...[host.loader, ...host.libs].map((f) => basename(f)),
      ...assetDirs.flatMap((d) => readdirSync(d)),
      ...privateDirs,
      ...privateNames,
    ],
  };
}
