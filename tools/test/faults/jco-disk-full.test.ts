import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmdirSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_ENV } from "../../../packages/shim-jco/src/cache.ts";
import { eventually } from "@wasm-shims/test-lab/eventually.ts";
import { programPath, writeOciImage } from "@wasm-shims/test-fixtures";
import { faultEnv, runtimeOf, type FaultEnv } from "./setup.ts";

const image = "localhost/hello-js:faults";
const expected = "hello from a JavaScript component\n";

// The jco shim transpiles a component at Create into its cache (WASM_SHIM_JCO_CACHE, which the
// shims read from containerd's environment). Here the cache is a 512 KiB tmpfs, far too small
// for the ~12 MB JavaScript component componentize-js builds: the write fails half way.
describe("the disk full while the jco transpile cache is written", () => {
  let env: FaultEnv;
  let cache = "";
  const used = () => {
    const s = statfsSync(cache);
    return (s.blocks - s.bfree) * s.bsize;
  };

  beforeAll(async () => {
    cache = mkdtempSync(join(tmpdir(), "jco-cache-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", cache]);
    env = await faultEnv({ env: { [CACHE_ENV]: cache } });
    const tarball = join(env.tmp, "hello-js.tar");
    await writeOciImage(tarball, {
      ref: image,
      files: [{ path: "/hello-js.wasm", source: programPath("hello-js"), mode: 0o755 }],
      entrypoint: ["/hello-js.wasm"],
      os: "wasip1",
      architecture: "wasm",
    });
    await env.ctd.importImage(tarball);
  }, 300_000);

  afterAll(async () => {
    await env?.close();
    if (cache && existsSync(cache)) {
      execFileSync("umount", [cache]);
      rmdirSync(cache);
    }
  });

  it("fails Create with the disk's error, leaves no partial entry and nothing else; with room again it runs, then from the cache", async () => {
    const run = (id: string) => env.ctr(["run", "--rm", "--runtime", runtimeOf("jco"), image, id], 180_000);
    const full = await run("jco-full");
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/ENOSPC|no space left on device/i);
    // The host's trouble, not a bad request.
    expect(full.stderr).not.toMatch(/invalid argument/);
    console.log(`ctr run with the cache full: exit ${full.code}: ${full.stderr.trim()}`);
    // The half-written entry was removed; containerd removed the container (ctr run --rm).
    expect(readdirSync(cache)).toEqual([]);
    expect(used()).toBeLessThan(64 * 1024);
    expect((await env.ctr(["container", "ls", "-q"])).stdout).toBe("");
    await eventually(async () => expect(await env.ctd.leftovers()).toEqual([]), 15_000);

    // The disk is given room (as an operator would): the same image now runs.
    execFileSync("mount", ["-o", "remount,size=256m", cache]);
    expect(await run("jco-room")).toMatchObject({ code: 0, stdout: expected });
    const entries = readdirSync(cache);
    expect(entries.filter((e) => e.startsWith("."))).toEqual([]);
    expect(entries.length).toBeGreaterThan(0);
    expect(await run("jco-cached")).toMatchObject({ code: 0, stdout: expected });
    await eventually(async () => expect(await env.ctd.leftovers()).toEqual([]), 15_000);
  });
});
