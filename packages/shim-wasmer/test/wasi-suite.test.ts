import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { discoverTests, suiteDir, type WasiTest } from "../../../tools/wasi-testsuite/discover.ts";
import { preview1Layer } from "../src/wasi/preview1.ts";

// The WASI test suite through the preview1 layer in this process, with node:wasi underneath for
// what the layer leaves to its base (stdio, clocks, random, exit): the layer on its own, in
// seconds, without containerd. The same tests through the built shim are tools/test's job.
// The guest's root is a copy of the test's root folder, preopened at fd 3 as in a container.

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "wasi-suite-"));
const { WASI } = process.getBuiltinModule("node:wasi");

/** What cannot pass with a root preopened at fd 3, which every container's guest has. */
const EXPECTED_FAILURES: Record<string, string> = {
  "c/sock_shutdown-invalid_fd": "expects fd 3 to be closed; it is the root preopen",
};

async function runTest(t: WasiTest, n: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = join(scratch, `root-${n}`);
  mkdirSync(root);
  if (t.root) cpSync(t.root, root, { recursive: true });
  // Stdio are FIFOs, opened read-write so nothing blocks: pollable as a container's are
  // (poll_oneoff_stdio), where a regular file is not; what the guest wrote is drained after.
  const fifos = ["in", "out", "err"].map((s) => join(scratch, `${s}-${n}`));
  execFileSync("mkfifo", fifos);
  const [stdin, stdout, stderr] = fifos.map((p) => openSync(p, "r+")) as [number, number, number];
  const args = [`/${t.name}.wasm`, ...t.args];
  const wasi = new WASI({ version: "preview1", args, env: t.env, returnOnExit: true, stdin, stdout, stderr });
  let memory: WebAssembly.Memory | undefined;
  const base = (wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, (...a: unknown[]) => number> })
    .wasi_snapshot_preview1;
  const layer = preview1Layer(base, () => memory!, {
    args,
    root,
    preopens: [{ name: "/", path: "/" }],
    hidden: [],
    files: true,
    run: t.id,
  });
  let code: number;
  try {
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(readFileSync(t.wasm)), {
      wasi_snapshot_preview1: layer.imports,
    });
    memory = instance.exports.memory as WebAssembly.Memory;
    code = wasi.start(instance);
  } catch (e) {
    writeSync(stderr, `trap: ${(e as Error).message}\n`);
    code = 134;
  } finally {
    layer.close();
  }
  const result = { code, stdout: drain(fifos[1]!), stderr: drain(fifos[2]!) };
  for (const fd of [stdin, stdout, stderr]) closeSync(fd);
  return result;
}

/** What is in a FIFO now, read without waiting for more. */
function drain(fifo: string): string {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  try {
    for (let n; (n = readSync(fd, buf)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString("utf8");
}

describe("the WASI test suite through the preview1 layer, in process", () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const tests = discoverTests(suiteDir(repoRoot)).filter((t) => !t.unsupported);

  it("passes every test but those that need fd 3 closed", async () => {
    const failed: Record<string, string> = {};
    for (const [n, t] of tests.entries()) {
      const r = await runTest(t, n);
      const ok = r.code === t.exitCode && r.stdout.startsWith(t.stdout ?? "") && r.stderr.startsWith(t.stderr ?? "");
      if (!ok) failed[t.id] = `exit ${r.code}, expected ${t.exitCode}: ${r.stderr.slice(0, 300)}`;
    }
    expect(tests.length).toBeGreaterThanOrEqual(72);
    expect(Object.keys(failed).sort(), JSON.stringify(failed, null, 1)).toEqual(Object.keys(EXPECTED_FAILURES).sort());
  }, 120_000);
});
