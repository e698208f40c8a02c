import { join } from "node:path";
import { fixturePath, programPath, writeOciImage } from "@wasm-shims/test-fixtures";

export const probeRef = "localhost/tty-probe:test";

/**
 * The terminal suites' image: the clang-built tty-probe (isatty of fds 0–2, echoes a typed line)
 * and a sleeper to exec into, under `WORKDIR /app` as most images are. Written into `dir`; returns
 * the tarball to import.
 */
export async function writeTtyProbeImage(dir: string): Promise<string> {
  const tarball = join(dir, "tty-probe.tar");
  await writeOciImage(tarball, {
    ref: probeRef,
    files: [
      { path: "/app/tty-probe.wasm", source: programPath("tty-probe-c"), mode: 0o755 },
      { path: "/app/sleep.wasm", source: fixturePath("sleep"), mode: 0o755 },
    ],
    entrypoint: ["/app/tty-probe.wasm"],
    workingDir: "/app",
    os: "wasip1",
    architecture: "wasm",
  });
  return tarball;
}
