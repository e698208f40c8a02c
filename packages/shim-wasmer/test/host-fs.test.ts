import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installHostFs } from "../src/host-fs.ts";

const dir = mkdtempSync(join(tmpdir(), "hostfs-"));
installHostFs({ 3: dir });
const call = (method: string, ...args: unknown[]) =>
  (
    globalThis as unknown as { __wasmerHostFileSystem: (m: number, f: string, a: unknown[]) => unknown }
  ).__wasmerHostFileSystem(3, method, args);
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  return "no error";
};

describe("the native-mount bridge answered from Node's fs", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates, writes, reads and closes files relative to the mount", () => {
    const id = call("open", "a.txt", true, true, true, false, true, false);
    expect(call("write", id, 0, new TextEncoder().encode("hello"))).toBe(5);
    expect(new TextDecoder().decode(call("read", id, 1, 3) as Uint8Array)).toBe("ell");
    call("setLen", id, 4);
    call("close", id);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("hell");
    expect(call("stat", "a.txt")).toEqual({ kind: "file", size: 4 });
  });

  it("lists, makes, renames and removes, with errno codes the core maps", () => {
    call("mkdir", "sub");
    writeFileSync(join(dir, "sub/b"), "xy");
    expect(call("readDir", "sub")).toEqual([{ name: "b", kind: "file", size: 2 }]);
    expect(call("stat", "")).toMatchObject({ kind: "directory" });
    call("rename", "sub/b", "sub/c");
    expect(code(() => call("remove", "sub"))).toBe("ENOTEMPTY");
    call("remove", "sub/c");
    call("remove", "sub");
    expect(code(() => call("stat", "sub"))).toBe("ENOENT");
    expect(code(() => call("open", "a.txt", true, true, true, true, false, false))).toBe("EEXIST");
    expect(code(() => call("nosuch"))).toBe("ENOTSUP");
  });

  it("waits on a FIFO for the other end, as a native program would, and reads it to its end", async () => {
    execFileSync("mkfifo", [join(dir, "fifo-in"), join(dir, "fifo-out")]);
    // What the SDK asks for whatever the guest wants: read and write.
    const id = call("open", "fifo-in", true, true, false, false, false, false);
    const writer = spawn("sh", ["-c", `sleep 0.2; printf 'from the writer' > '${join(dir, "fifo-in")}'`]);
    // Blocks this thread until the writer comes; a positioned read would fail instead.
    const text = new TextDecoder().decode(call("read", id, 0, 100) as Uint8Array);
    expect(text).toBe("from the writer");
    // The writer is gone: end of file, which O_RDWR (the SDK's own mode) would never see.
    await new Promise((r) => writer.on("exit", r));
    expect((call("read", id, 15, 100) as Uint8Array).length).toBe(0);
    call("flush", id);
    call("close", id);

    const reader = spawn("cat", [join(dir, "fifo-out")]);
    const got = new Promise<string>((r) => {
      let out = "";
      reader.stdout.on("data", (d: Buffer) => (out += d.toString()));
      reader.on("exit", () => r(out));
    });
    const out = call("open", "fifo-out", true, true, false, false, false, false);
    expect(call("write", out, 0, new TextEncoder().encode("to the reader"))).toBe(13);
    call("close", out);
    expect(await got).toBe("to the reader");
  });

  it("keeps `..` inside the mount", () => {
    writeFileSync(join(dir, "inside"), "in");
    expect(call("stat", "../../inside")).toEqual({ kind: "file", size: 2 });
  });
});
