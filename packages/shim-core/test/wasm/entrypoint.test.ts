import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyHeader, readEntrypoint, resolveEntrypoint } from "../../src/wasm/entrypoint.ts";
import type { Spec } from "../../src/oci/spec.ts";

const WASM = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
let root: string;
const spec = (args: string[], env: string[] = [], cwd = "/"): Spec => ({ process: { args, env, cwd } });

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "rootfs-"));
  mkdirSync(join(root, "bin"));
  mkdirSync(join(root, "app"));
  writeFileSync(join(root, "app/main.wasm"), WASM);
  writeFileSync(join(root, "bin/tool"), "\x7fELF\x02\x01");
  writeFileSync(join(root, "bin/script"), "#!/bin/sh\necho\n");
  writeFileSync(join(root, "notes.txt"), "hello");
  symlinkSync("/app/main.wasm", join(root, "bin/app"));
  // An absolute link that would escape on the host must resolve inside the root.
  symlinkSync("/etc/passwd", join(root, "escape"));
  symlinkSync("../../../../app/main.wasm", join(root, "bin/relative"));
});
const others: string[] = [];
afterAll(() => {
  for (const d of [root, ...others]) rmSync(d, { recursive: true, force: true });
});

describe("classifyHeader", () => {
  it("knows Wasm, ELF and scripts, and nothing else", () => {
    expect(classifyHeader(WASM)).toBe("wasm");
    expect(classifyHeader(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))).toBe("native");
    expect(classifyHeader(new TextEncoder().encode("#!/bin/sh"))).toBe("native");
    expect(classifyHeader(new TextEncoder().encode("text"))).toBeUndefined();
    expect(classifyHeader(new Uint8Array([0]))).toBeUndefined();
  });
});

describe("resolveEntrypoint", () => {
  it("finds an absolute Wasm path", async () => {
    expect(await resolveEntrypoint(root, spec(["/app/main.wasm"]))).toMatchObject({
      kind: "wasm",
      path: "/app/main.wasm",
      hostPath: join(root, "app/main.wasm"),
    });
  });

  it("searches $PATH for a bare name and follows symlinks inside the root", async () => {
    expect(await resolveEntrypoint(root, spec(["app"], ["PATH=/usr/bin:/bin"]))).toMatchObject({
      kind: "wasm",
      path: "/app/main.wasm",
    });
    expect(await resolveEntrypoint(root, spec(["/bin/relative"]))).toMatchObject({ path: "/app/main.wasm" });
  });

  it("resolves relative paths against the process cwd", async () => {
    expect(await resolveEntrypoint(root, spec(["./main.wasm"], [], "/app"))).toMatchObject({ path: "/app/main.wasm" });
  });

  it("treats ELF and #! as native", async () => {
    expect((await resolveEntrypoint(root, spec(["/bin/tool"]))).kind).toBe("native");
    expect((await resolveEntrypoint(root, spec(["script"], ["PATH=/bin"]))).kind).toBe("native");
  });

  it("names the file that is missing or of unknown kind", async () => {
    await expect(resolveEntrypoint(root, spec(["/nope.wasm"]))).rejects.toThrow(
      /entrypoint \/nope.wasm does not exist.*: not found$/,
    );
    await expect(resolveEntrypoint(root, spec(["/notes.txt"]))).rejects.toThrow(
      /entrypoint \/notes.txt is neither a WebAssembly module.*: invalid argument$/,
    );
    await expect(resolveEntrypoint(root, spec(["/escape"]))).rejects.toThrow(/does not exist/);
    await expect(resolveEntrypoint(root, spec([]))).rejects.toThrow(/no process args/);
  });

  it("refuses a native file when the image says it is Wasm", async () => {
    await expect(resolveEntrypoint(root, spec(["/bin/tool"]), async () => true)).rejects.toThrow(
      /not a WebAssembly module, though the image's architecture is wasm/,
    );
    let asked = false;
    await resolveEntrypoint(root, spec(["/app/main.wasm"]), async () => (asked = true));
    expect(asked).toBe(false);
  });
});

describe("readEntrypoint", () => {
  it("reads the resolved file", async () => {
    const entry = await resolveEntrypoint(root, spec(["/bin/app"]));
    expect(await readEntrypoint(entry)).toEqual(WASM);
  });

  // What a running container could do between Exec's resolving and reading: swap a directory of
  // the path, or the file itself, for a symlink out of its root.
  it("refuses a path that a symlink swapped in since leads out of the root", async () => {
    const outside = mkdtempSync(join(tmpdir(), "outside-"));
    others.push(outside);
    writeFileSync(join(outside, "x.wasm"), WASM);
    symlinkSync(outside, join(root, "swapped"));
    symlinkSync(join(outside, "x.wasm"), join(root, "swapped-file.wasm"));
    const at = (path: string) => ({ kind: "wasm" as const, path, hostPath: root + path, root });
    await expect(readEntrypoint(at("/swapped/x.wasm"))).rejects.toThrow(
      /entrypoint \/swapped\/x\.wasm leads out of the container's root filesystem/,
    );
    await expect(readEntrypoint(at("/swapped-file.wasm"))).rejects.toThrow(/ELOOP/);
  });
});
