import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { forbiddenFiles, parseSnoop, sampleHash, violations } from "../src/snoop.ts";

const tmp = mkdtempSync(join(tmpdir(), "snoop-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("sampleHash", () => {
  it("is FNV-1a 64 of the first 64 KiB, as snoop.c prints it", () => {
    writeFileSync(join(tmp, "empty"), "");
    writeFileSync(join(tmp, "a"), "a");
    // Published FNV-1a 64 test vectors.
    expect(sampleHash(join(tmp, "empty"))).toBe("cbf29ce484222325");
    expect(sampleHash(join(tmp, "a"))).toBe("af63dc4c8601ec8c");
    writeFileSync(join(tmp, "long"), Buffer.concat([Buffer.alloc(64 * 1024, 1), Buffer.from("ignored")]));
    writeFileSync(join(tmp, "long2"), Buffer.concat([Buffer.alloc(64 * 1024, 1), Buffer.from("also ignored")]));
    expect(sampleHash(join(tmp, "long"))).toBe(sampleHash(join(tmp, "long2")));
  });
});

const output = `D /
F /snoop.wasm 100 0000000000000001
F /etc/motd 21 0000000000000002
D /dev
O /dev/null
F /dev/zero 0 fe72814514a90383
L /data/root -> /
T /data/root: snoop.wasm etc data
T /proc/self/exe 1000 00000000000000ff
W 3 / ../x error 76
X /data/root/data/root deeper than 6
C /proc/self/maps: 00400000-00746000 r--p 00000000 fe:00 5350162 /
C /proc/self/environ: WASM_SHIM_ENV_PATH=/
done`;

describe("parseSnoop and violations", () => {
  const report = parseSnoop(output);

  it("reads files, contents, listings, tables and where the walk stopped", () => {
    expect(report.done).toBe(true);
    expect(report.files).toEqual(["/snoop.wasm", "/etc/motd", "/dev/zero"]);
    expect(report.contents).toContainEqual({ path: "/proc/self/exe", size: 1000, hash: "00000000000000ff" });
    expect(report.listings["/data/root"]).toEqual(["snoop.wasm", "etc", "data"]);
    expect(report.tables["/proc/self/environ"]).toEqual(["WASM_SHIM_ENV_PATH=/"]);
    expect(report.cut).toEqual(["/data/root/data/root deeper than 6"]);
  });

  it("finds nothing wrong in a contained guest", () => {
    expect(
      violations(report, { allowedFiles: ["/snoop.wasm", "/etc/motd"], forbidden: [], forbiddenNames: [".wasm-shim"] }),
    ).toEqual([]);
  });

  it("reports a file outside the image, a host file's contents under any name, and forbidden names", () => {
    const found = violations(
      parseSnoop(`${output}\nF /dev/.wasm-shim/lib0/libc.so.6 5 0000000000000003\nF /extra 1 0000000000000004`),
      {
        allowedFiles: ["/snoop.wasm"],
        forbidden: [{ path: "/usr/lib/ld.so", size: 1000, hash: "00000000000000ff" }],
        forbiddenNames: [".wasm-shim", "WASM_SHIM_ENV_"],
      },
    );
    expect(found).toEqual([
      "file outside its image and mounts: /etc/motd",
      "file outside its image and mounts: /dev/.wasm-shim/lib0/libc.so.6",
      "file outside its image and mounts: /extra",
      "read /proc/self/exe, which is the host's /usr/lib/ld.so",
      'saw ".wasm-shim" in /dev/.wasm-shim/lib0/libc.so.6',
      'saw "WASM_SHIM_ENV_" in WASM_SHIM_ENV_PATH=/',
    ]);
  });

  it("fingerprints every file under the forbidden paths", () => {
    writeFileSync(join(tmp, "lib.so"), "library");
    expect(forbiddenFiles([join(tmp, "lib.so"), join(tmp, "missing")])).toEqual([
      { path: join(tmp, "lib.so"), size: 7, hash: sampleHash(join(tmp, "lib.so")) },
    ]);
  });

  it("says when the walk did not finish", () => {
    expect(violations(parseSnoop("D /\n"), { allowedFiles: [], forbidden: [], forbiddenNames: [] })).toEqual([
      "snoop did not finish its walk",
    ]);
  });
});
