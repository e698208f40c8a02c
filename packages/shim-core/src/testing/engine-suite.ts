import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFixtures, negativeFixtureFiles, programPath, programsDir } from "@wasm-shims/test-fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../wasm/engine.ts";
import { checkModule, runGuest, type GuestOptions } from "./in-process.ts";

/**
 * What every engine must do, checked in this process without root, containerd or a build: the
 * WAT fixtures are compiled into a temporary directory; the C program is test-fixtures' build
 * when there is one, else compiled by clang (wasi-libc) into that directory. The host's `/` is the guest's, as the container's root is inside a runner.
 * Call it at the top level of a test file; it adds one `describe` block.
 */
export function engineSuite(engine: Engine): void {
  describe(`the ${engine.name} engine, in process`, () => {
    let dir = "";
    let wasm = "";
    const fixture = (name: string) => join(wasm, name.includes(".") ? name : `${name}.wasm`);
    const run = (name: string, opts: Omit<GuestOptions, "path"> = {}) =>
      runGuest(engine, { path: fixture(name), ...opts });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `engine-suite-${engine.name}-`));
      wasm = join(dir, "wasm");
      await buildFixtures({ wasm });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("writes the guest's stdout and stderr to the fds it is given", async () => {
      expect(await run("hello")).toEqual({ code: 0, stdout: "hello from wasm\n", stderr: "" });
    });

    it("returns the guest's exit status (0 above)", async () => {
      expect(await run("exit-code", { args: ["42"] })).toMatchObject({
        code: 42,
        stderr: expect.stringContaining("exiting with 42"),
      });
    });

    it("throws a trap as a WebAssembly RuntimeError, after the output written before it", async () => {
      const res = await run("trap");
      expect(res).toMatchObject({ stdout: "about to trap\n" });
      expect("error" in res && res.error.name).toBe("RuntimeError");
    });

    it("passes argv (argv[0] as the image gives it) and the environment", async () => {
      const res = await run("args-env", { args: ["one", "two words"], env: { FOO: "bar baz", EMPTY: "" } });
      expect(res).toMatchObject({ code: 0, stderr: "to-stderr\n" });
      expect(res.stdout.split("\n")).toEqual(
        expect.arrayContaining([
          `arg:${fixture("args-env")}`,
          "arg:one",
          "arg:two words",
          "env:FOO=bar baz",
          "env:EMPTY=",
        ]),
      );
    });

    it("reads the guest's stdin to its end", async () => {
      const input = "line one\nline two\n".repeat(1000);
      expect(await run("cat-stdin", { stdin: input })).toEqual({ code: 0, stdout: input, stderr: "" });
    });

    it("preopens the root: the guest reads and writes files by absolute path", async () => {
      const file = join(dir, "data.txt");
      writeFileSync(file, "from the host\n");
      expect(await run("read-file", { args: [file] })).toEqual({
        code: 0,
        stdout: "opening\nopened\nfrom the host\n",
        stderr: "",
      });
      const written = join(dir, "written.txt");
      expect(await run("write-file", { args: [written, "from the guest\n"] })).toMatchObject({ code: 0 });
      expect(readFileSync(written, "utf8")).toBe("from the guest\n");
    });

    it("starts a wasi-libc program in its working directory: relative paths resolve under it", async () => {
      const work = join(dir, "workdir");
      mkdirSync(work);
      writeFileSync(join(work, "data.txt"), "under the workdir\n");
      let path = programPath("cwd-chdir-c");
      if (!existsSync(path)) {
        path = join(dir, "cwd-chdir.wasm");
        execFileSync("clang", ["--target=wasm32-wasi", "-O2", "-o", path, join(programsDir, "c", "cwd-chdir.c")], {
          stdio: ["ignore", "pipe", "pipe"],
        });
      }
      const res = await runGuest(engine, { path, cwd: work });
      expect(res).toMatchObject({ code: 0 });
      expect(res.stdout).toContain(`getcwd: ${work}\ndata.txt: under the workdir\n`);
    });

    it("refuses an invalid module at validation, naming its path", async () => {
      for (const name of negativeFixtureFiles) {
        const path = fixture(name);
        await expect(checkModule(engine, new Uint8Array(readFileSync(path)), path)).rejects.toThrow(path);
      }
    });

    it("refuses a module importing what the engine lacks, naming the import, before it runs", async () => {
      const path = fixture("bad-import");
      const module = new Uint8Array(readFileSync(path));
      // An engine that declares its imports is checked at Create; one that does not must fail to link.
      const failure = engine.imports
        ? checkModule(engine, module, path)
        : runGuest(engine, { path }).then((r) => ("error" in r ? Promise.reject(r.error) : r));
      await expect(failure).rejects.toThrow(/host_thing/);
    });
  });
}
