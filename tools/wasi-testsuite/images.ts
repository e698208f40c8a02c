// One OCI image per group of tests that share suite, root folder and environment: the modules sit
// at `/NAME.wasm` beside the root folder's contents, so the guest's `/` (the container's root, which
// our shims preopen as "/") holds what the reference runner's `--dir ROOT::/` would show, and the
// image's Env is the test's whole environment.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { writeOciImage, type ImageFile } from "@wasm-shims/test-fixtures";
import type { WasiTest } from "./discover.ts";

export interface TestImage {
  ref: string;
  tarball: string;
  tests: WasiTest[];
}

/** Where a test's module is inside its image; also the guest's argv[0]. */
export const modulePath = (test: WasiTest): string => `/${test.name}.wasm`;

interface Layer {
  files: ImageFile[];
  dirs: string[];
  symlinks: { path: string; target: string }[];
}

/** The root folder's tree under `/`, minus `*.cleanup` artifacts; modes as a fresh checkout has them. */
function rootLayer(root: string | undefined): Layer {
  const layer: Layer = { files: [], dirs: [], symlinks: [] };
  const walk = (host: string, path: string): void => {
    for (const name of readdirSync(host).sort()) {
      if (name.endsWith(".cleanup")) continue;
      const from = join(host, name);
      const to = `${path}/${name}`;
      const stat = lstatSync(from);
      if (stat.isSymbolicLink()) layer.symlinks.push({ path: to, target: readlinkSync(from) });
      else if (stat.isDirectory()) {
        layer.dirs.push(to);
        walk(from, to);
      } else if (stat.isFile()) layer.files.push({ path: to, source: from, mode: stat.mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  if (root !== undefined) walk(root, "");
  return layer;
}

function groupKey(test: WasiTest): string {
  return JSON.stringify([test.suite, test.root ?? null, Object.entries(test.env).sort()]);
}

/** Env entries for the image config: the test's environment exactly (containerd adds PATH only to an empty one). */
export function imageEnv(test: WasiTest): string[] {
  return Object.entries(test.env).map(([k, v]) => `${k}=${v}`);
}

/** Writes one image tarball per group into `outDir`. */
export async function buildImages(tests: readonly WasiTest[], outDir: string): Promise<TestImage[]> {
  const groups = new Map<string, WasiTest[]>();
  for (const test of tests) groups.set(groupKey(test), [...(groups.get(groupKey(test)) ?? []), test]);
  const images: TestImage[] = [];
  for (const [key, members] of groups) {
    const first = members[0]!;
    const hash = createHash("sha256").update(key).digest("hex").slice(0, 12);
    const ref = `localhost/wasi-testsuite/${first.suite}:${hash}`;
    const tarball = join(outDir, `${first.suite}-${hash}.tar`);
    const layer = rootLayer(first.root);
    const env = imageEnv(first);
    await writeOciImage(tarball, {
      ref,
      files: [...layer.files, ...members.map((t) => ({ path: modulePath(t), source: t.wasm, mode: 0o644 }))],
      dirs: layer.dirs,
      symlinks: layer.symlinks,
      workingDir: "/",
      ...(env.length > 0 ? { env } : {}),
    });
    images.push({ ref, tarball, tests: members });
  }
  return images;
}
