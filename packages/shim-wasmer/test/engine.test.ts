import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureFixtures, fixturePath } from "@wasm-shims/test-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SDK_VERSION, wasmerEngine } from "../src/engine.ts";
import { guestRoot } from "../src/rootfs.ts";

// The engine in this process, with the host's `/` as the guest's: what the runner does inside a container.
const dir = mkdtempSync(join(tmpdir(), "wasmer-engine-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;

async function run(name: string, args: string[], opts: { env?: Record<string, string>; stdin?: number } = {}) {
  const out = join(dir, `out-${++seq}`), err = join(dir, `err-${seq}`);
  const [stdout, stderr] = [openSync(out, "w"), openSync(err, "w")];
  const stdin = opts.stdin ?? openSync("/dev/null", "r");
  try {
    const path = fixturePath(name);
    const code = await wasmerEngine.run({ path, module: new Uint8Array(readFileSync(path)), args: [`/${name}.wasm`, ...args], env: opts.env ?? {}, cwd: "/", stdin, stdout, stderr, data: {}, files: {} });
    return { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  } finally {
    for (const fd of [stdout, stderr, stdin]) closeSync(fd);
  }
}

describe("wasmer engine, in process", () => {
  beforeAll(async () => void (await ensureFixtures()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the @wasmer/sdk version that is installed", () => {
    expect((JSON.parse(readFileSync(new URL("../node_modules/@wasmer/sdk/package.json", import.meta.url), "utf8")) as { version: string }).version).toBe(SDK_VERSION);
  });

  it("runs hello and passes exit statuses", async () => {
    expect(await run("hello", [])).toEqual({ code: 0, stdout: "hello from wasm\n", stderr: "" });
    expect(await run("exit-code", ["7"])).toMatchObject({ code: 7, stderr: expect.stringContaining("exiting with 7") });
  });

  it("passes args, argv[0] exactly as the image gives it, and env", async () => {
    const res = await run("args-env", ["one", "two words"], { env: { FOO: "bar baz" } });
    expect(res.stdout.split("\n")).toEqual(expect.arrayContaining(["arg:/args-env.wasm", "arg:one", "arg:two words", "env:FOO=bar baz"]));
    expect(res.stderr).toBe("to-stderr\n");
  });

  it("throws a trap as a RuntimeError after the output written before it", async () => {
    const out = join(dir, "trap-out");
    const fd = openSync(out, "w");
    const path = fixturePath("trap");
    const running = wasmerEngine.run({ path, module: new Uint8Array(readFileSync(path)), args: ["/trap.wasm"], env: {}, cwd: "/", stdin: 0, stdout: fd, stderr: fd, data: {}, files: {} });
    await expect(running).rejects.toMatchObject({ name: "RuntimeError", message: "unreachable" });
    closeSync(fd);
    expect(readFileSync(out, "utf8")).toBe("about to trap\n");
  });

  it("writes to the host's files live, through the preview1 layer", async () => {
    const res = await run("write-file", [join(dir, "written.txt"), "live\n"]);
    expect(res).toMatchObject({ code: 0 });
    expect(readFileSync(join(dir, "written.txt"), "utf8")).toBe("live\n");
  });

  it("leaves a WASIX module the SDK's file system, with argv[0] as given", async () => {
    const path = join(dir, "wasix-getcwd.wasm");
    execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-o", path, fileURLToPath(new URL("programs/wasix-getcwd.c", import.meta.url))]);
    const out = join(dir, "wasix-out"), written = join(dir, "wasix-written.txt");
    const [fd, stdin] = [openSync(out, "w"), openSync("/dev/null", "r")];
    const code = await wasmerEngine.run({ path, module: new Uint8Array(readFileSync(path)), args: ["/bin/wasix getcwd", written], env: {}, cwd: dir, stdin, stdout: fd, stderr: fd, data: {}, files: {} });
    closeSync(fd);
    closeSync(stdin);
    expect({ code, out: readFileSync(out, "utf8") }).toEqual({ code: 0, out: `argv0 /bin/wasix getcwd\ncwd ${dir} (errno 0)\n` });
    expect(readFileSync(written, "utf8")).toBe("from a WASIX guest\n");
  });

  it("says stdio that are no terminals are none, and sets file times on the host to the nanosecond from the SDK's worker", async () => {
    const path = join(dir, "stdio-times.wasm");
    execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-Wall", "-Werror", "-o", path, fileURLToPath(new URL("programs/stdio-times.c", import.meta.url))]);
    const file = join(dir, "timed.txt");
    writeFileSync(file, "x");
    const out = join(dir, "stdio-times-out");
    const [fd, stdin] = [openSync(out, "w"), openSync("/dev/null", "r")];
    const code = await wasmerEngine.run({ path, module: new Uint8Array(readFileSync(path)), args: ["/stdio-times.wasm", file.slice(1)], env: {}, cwd: "/", stdin, stdout: fd, stderr: fd, data: {}, files: {} });
    closeSync(fd);
    closeSync(stdin);
    // The SDK alone says all three are character devices, which wasi-libc takes for terminals.
    expect({ code, out: readFileSync(out, "utf8") }).toEqual({ code: 0, out: "terminals: 0 0 0\natime 1000000000.123456789 mtime 1700000000.987654321\n" });
    // The file holds those times: the SDK's worker had this thread's native helper set them.
    const st = statSync(file, { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_000_000_000_123_456_789n, 1_700_000_000_987_654_321n]);
  });

  it("streams stdin in and stdout out while the guest runs", async () => {
    const fifo = join(dir, "stdin");
    execFileSync("mkfifo", [fifo]);
    const opening = open(fifo, "r"); // completes once the writer below opens
    const writer = openSync(fifo, "w");
    const reader = (await opening).fd;
    const out = join(dir, "cat-out");
    const stdout = openSync(out, "w");
    const path = fixturePath("cat-stdin");
    const done = wasmerEngine.run({ path, module: new Uint8Array(readFileSync(path)), args: ["/cat-stdin.wasm"], env: {}, cwd: "/", stdin: reader, stdout, stderr: stdout, data: {}, files: {} });
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
