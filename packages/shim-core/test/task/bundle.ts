import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/oci/spec.ts";

/** A runc bundle with a static busybox root, made the way containerd would (minus the snapshot mount). */
export function busyboxBundle(
  id: string,
  args: string[],
  tweak: (spec: Spec) => void = () => {},
): { bundle: string; out: string; err: string } {
  const bundle = mkdtempSync(join(tmpdir(), `bundle-${id}-`));
  const root = join(bundle, "root");
  mkdirSync(join(root, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(root, "bin/busybox"));
  execFileSync("runc", ["spec", "--bundle", bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")) as Spec;
  spec.process = { ...spec.process!, terminal: false, args, env: ["PATH=/bin"] };
  spec.root = { path: root, readonly: false };
  spec.linux = { ...spec.linux, cgroupsPath: `/shimtest-${process.pid}/${id}` };
  tweak(spec);
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  return { bundle, out: join(bundle, "stdout"), err: join(bundle, "stderr") };
}

/**
 * Removes `bundles`, `runcRoot`, and the cgroup parent runc leaves behind. Each bundle holds a copy
 * of busybox: suites that forgot them left hundreds of megabytes in /tmp.
 */
export function removeBundles(runcRoot: string, bundles: string[]): void {
  for (const b of bundles.splice(0)) rmSync(b, { recursive: true, force: true });
  rmSync(runcRoot, { recursive: true, force: true });
  for (const hierarchy of ["", ...readdirSync("/sys/fs/cgroup")]) {
    try {
      rmdirSync(join("/sys/fs/cgroup", hierarchy, `shimtest-${process.pid}`));
    } catch {
      // not a hierarchy, or nothing there
    }
  }
}
