import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A single-manifest OCI image tarball holding only the host's static busybox, so the harness
 * tests do not depend on the test-fixtures package. The layer stays uncompressed: containerd
 * accepts that, and it keeps the helper free of gzip and of digest juggling.
 */
export function buildBusyboxImage(workDir: string, ref = "localhost/busybox:harness"): { ref: string; tarball: string } {
  const root = join(workDir, "rootfs");
  const layout = join(workDir, "layout");
  const blobs = join(layout, "blobs", "sha256");
  mkdirSync(join(root, "bin"), { recursive: true });
  mkdirSync(join(root, "tmp"), { recursive: true });
  mkdirSync(blobs, { recursive: true });
  copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
  symlinkSync("busybox", join(root, "bin", "sh"));
  const layerPath = join(workDir, "layer.tar");
  execFileSync("tar", ["--numeric-owner", "--owner=0", "--group=0", "-C", root, "-cf", layerPath, "bin", "tmp"]);

  const blob = (data: Buffer) => {
    const digest = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: data.length };
  };
  const layer = blob(readFileSync(layerPath));
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: [layer.digest] } })),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
      }),
    ),
  );
  // No platform on the descriptor, so a plain `ctr image import` keeps it (see the harness notes).
  const annotations = { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.split(":").at(-1) ?? "latest" };
  const index = { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations }] };
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const tarball = join(workDir, "busybox.tar");
  execFileSync("tar", ["-C", layout, "-cf", tarball, "oci-layout", "index.json", "blobs"]);
  return { ref, tarball };
}
