import { execFileSync, spawnSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runGuest } from "@wasm-shims/shim-core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { guestSubstitutions } from "../src/compile.ts";
import { SDK_VERSION, wasmerEngine } from "../src/engine.ts";
import { guestRoot } from "../src/rootfs.ts";

// What only wasmer has: the SDK's own file system for WASIX modules, its worker, its stdio pipes.
// Beside the unit tier rather than in it (test/unit/engine.test.ts runs the shared engine suite):
// each case starts the SDK again and two compile C, which would take the tier past its budget.
const dir = mkdtempSync(join(tmpdir(), "wasmer-engine-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clang = (name: string) => {
  const path = join(dir, `${name}.wasm`);
  execFileSync("clang", [
    "--target=wasm32-wasi",
    "-O2",
    "-Wall",
    "-Werror",
    "-o",
    path,
    fileURLToPath(new URL(`programs/${name}.c`, import.meta.url)),
  ]);
  return path;
};

describe("wasmer engine, in process", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the @wasmer/sdk version that is installed", () => {
    expect(
      (
        JSON.parse(readFileSync(new URL("../node_modules/@wasmer/sdk/package.json", import.meta.url), "utf8")) as {
          version: string;
        }
      ).version,
    ).toBe(SDK_VERSION);
  });

  it("leaves a WASIX module the SDK's file system, with argv[0] as given", async () => {
    const path = clang("wasix-getcwd");
    const written = join(dir, "wasix-written.txt");
    const substituted = guestSubstitutions();
    const res = await runGuest(wasmerEngine, { path, args: [written], cwd: dir, argv0: "/bin/wasix getcwd" });
    expect(res).toEqual({ code: 0, stdout: `argv0 /bin/wasix getcwd\ncwd ${dir} (errno 0)\n`, stderr: "" });
    // Packaged as it is: the SDK may compile its bytes again for its threads, where no hook swaps them.
    expect(guestSubstitutions()).toBe(substituted);
    expect(readFileSync(written, "utf8")).toBe("from a WASIX guest\n");
  });

  it("says stdio that are no terminals are none, and sets file times on the host to the nanosecond from the SDK's worker", async () => {
    const path = clang("stdio-times");
    const file = join(dir, "timed.txt");
    writeFileSync(file, "x");
    const substituted = guestSubstitutions();
    const res = await runGuest(wasmerEngine, { path, args: [file.slice(1)] });
    // A preview1 guest: the SDK packaged its stand-in and, compiling that, got the guest's module.
    expect(guestSubstitutions()).toBe(substituted + 1);
    // The SDK alone says all three are character devices, which wasi-libc takes for terminals.
    expect(res).toEqual({
      code: 0,
      stdout: "terminals: 0 0 0\natime 1000000000.123456789 mtime 1700000000.987654321\n",
      stderr: "",
    });
    // The file holds those times: the SDK's worker had this thread's native helper set them.
    const st = statSync(file, { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_000_000_000_123_456_789n, 1_700_000_000_987_654_321n]);
  });

  it("starts the SDK without undici, its first worker booting beside the SDK's own start", async () => {
    const { buildFixtures } = await import("@wasm-shims/test-fixtures");
    const wasm = join(dir, "start-wasm");
    await buildFixtures({ wasm });
    const probe = fileURLToPath(new URL("sdk-start-probe.ts", import.meta.url));
    const res = spawnSync(process.execPath, [probe, join(wasm, "hello.wasm")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    // undici (36 ms a thread) is what reading `Response` or receiving a BroadcastChannel message
    // loads. Every worker made was told to start by the SDK: the early one was the SDK's first.
    expect(JSON.parse(res.stderr)).toEqual({ code: 0, stdout: "hello from wasm\n", undici: false, unused: 0 });
  });

  it("fails a run whose SDK worker fails, instead of waiting on it for ever", async () => {
    const { buildFixtures } = await import("@wasm-shims/test-fixtures");
    const wasm = join(dir, "fail-wasm");
    await buildFixtures({ wasm });
    const probe = fileURLToPath(new URL("sdk-start-probe.ts", import.meta.url));
    const res = spawnSync(process.execPath, [probe, join(wasm, "sleep.wasm"), "fail-worker"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });
    expect(res.signal).toBeNull();
    expect(JSON.parse(res.stderr).error).toBe("the wasmer SDK's worker failed: RuntimeError: unreachable (simulated)");
  });

  it("streams stdin in and stdout out while the guest runs", async () => {
    const wasm = join(dir, "wasm");
    const { buildFixtures, fixtureNames } = await import("@wasm-shims/test-fixtures");
    await buildFixtures({ wasm });
    expect(fixtureNames).toContain("cat-stdin");
    const fifo = join(dir, "stdin");
    execFileSync("mkfifo", [fifo]);
    const opening = open(fifo, "r"); // completes once the writer below opens
    const writer = openSync(fifo, "w");
    const reader = (await opening).fd;
    const out = join(dir, "cat-out");
    const stdout = openSync(out, "w");
    const path = join(wasm, "cat-stdin.wasm");
    const done = wasmerEngine.run({
      path,
      module: new Uint8Array(readFileSync(path)),
      args: [path],
      env: {},
      cwd: "/",
      stdin: reader,
      stdout,
      stderr: stdout,
      data: {},
      files: {},
    });
    writeSync(writer, "ping\n");
    for (let i = 0; i < 300 && readFileSync(out, "utf8") !== "ping\n"; i++) await sleep(100);
    expect(readFileSync(out, "utf8")).toBe("ping\n");
    closeSync(writer);
    expect(await done).toBe(0); // the engine reads a pipe through a net.Socket, which closes `reader`
    closeSync(stdout);
  });
});

describe("what of the container a WASIX guest sees on the SDK's file system", () => {
  it("mounts top-level directories live and copies small top-level files", () => {
    const root = mkdtempSync(join(tmpdir(), "wasmer-root-"));
    for (const d of ["data", "etc", "proc", "dev", "sys", "workspace"]) mkdirSync(join(root, d));
    writeFileSync(join(root, "app.wasm"), "x");
    writeFileSync(join(root, "big"), Buffer.alloc(2 << 20));
    const { mounts, files } = guestRoot(root);
    expect(mounts.map((m) => m.guest).sort()).toEqual(["/data", "/etc"]);
    expect(Object.keys(files)).toEqual(["/app.wasm"]);
    rmSync(root, { recursive: true });
  });
});
