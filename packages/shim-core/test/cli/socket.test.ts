import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bindOrReuse, inodeAt, removeDeadSocket, socketAlive, socketPath, unlinkIfSame } from "../../src/cli/socket.ts";

describe("socketPath", () => {
  it("hashes address/namespace/group like runc's shim, under /run/containerd/s", () => {
    const expected = createHash("sha256").update("/run/containerd/containerd.sock/default/c1").digest("hex");
    expect(socketPath("/run/containerd/containerd.sock", "default", "c1")).toBe(`/run/containerd/s/${expected}`);
  });

  it("differs per namespace and group, and fits a unix socket path", () => {
    const a = socketPath("/a.sock", "ns1", "g");
    expect(a).not.toBe(socketPath("/a.sock", "ns2", "g"));
    expect(a).not.toBe(socketPath("/a.sock", "ns1", "h"));
    expect(Buffer.byteLength(a)).toBeLessThan(107);
  });
});

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "sock-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("socketAlive", () => {
  it("is true for a listening socket and false for a missing or dead one", async () => {
    const dir = tempDir();
    const path = join(dir, "s");
    expect(await socketAlive(path)).toBe(false);
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    expect(await socketAlive(path)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await socketAlive(path)).toBe(false);
  });
});

describe("removeDeadSocket", () => {
  it("removes the socket a killed daemon left, never a live one or another file's absence", async () => {
    const dir = tempDir();
    const path = join(dir, "s");
    expect(await removeDeadSocket(path)).toBe(false);
    // A listener killed with SIGKILL leaves its socket file, as a killed shim daemon does.
    const child = spawn(
      process.execPath,
      ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => console.log("up"))`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await once(child.stdout!, "data");
    expect(await removeDeadSocket(path)).toBe(false);
    expect(existsSync(path)).toBe(true);
    child.kill("SIGKILL");
    await once(child, "exit");
    expect(existsSync(path)).toBe(true);
    expect(await removeDeadSocket(path)).toBe(true);
    expect(existsSync(path)).toBe(false);
    // A plain file where a socket should be is not alive either; it goes the same way.
    writeFileSync(path, "");
    expect(await removeDeadSocket(path)).toBe(true);
  });
});

const closed = (server: Server) => new Promise<void>((r) => server.close(() => r()));

describe("bindOrReuse", () => {
  it("gives the path to exactly one of many binders at once, and leaves no file of its own", async () => {
    const dir = tempDir();
    const path = join(dir, "s");
    // A dead socket there first, as a killed daemon leaves it: every binder must look, remove, bind.
    writeFileSync(path, "");
    const bound = await Promise.all(Array.from({ length: 8 }, () => bindOrReuse(path)));
    const servers = bound.filter((s): s is Server => s !== undefined);
    expect(servers).toHaveLength(1);
    expect(await socketAlive(path)).toBe(true);
    expect(readdirSync(dir)).toEqual(["s"]);
    await closed(servers[0]!);
  });

  it("answers undefined while a live socket is there", async () => {
    const path = join(tempDir(), "s");
    const first = await bindOrReuse(path);
    expect(first).toBeDefined();
    expect(await bindOrReuse(path)).toBeUndefined();
    await closed(first!);
  });

  it("never removes, on close, a socket bound at the path since", async () => {
    const path = join(tempDir(), "s");
    const old = await bindOrReuse(path);
    const oldInode = inodeAt(path);
    // The old daemon let go of the path (as an exiting daemon does) and a new one bound it.
    unlinkSync(path);
    const next = await bindOrReuse(path);
    expect(next).toBeDefined();
    await closed(old!);
    unlinkIfSame(path, oldInode);
    expect(await socketAlive(path)).toBe(true);
    unlinkIfSame(path, inodeAt(path));
    expect(existsSync(path)).toBe(false);
    await closed(next!);
  });
});
