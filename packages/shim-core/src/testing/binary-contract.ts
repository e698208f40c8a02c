import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import { DeleteResponseSchema, ShutdownRequestSchema } from "../gen/containerd/task/v2/shim_pb.ts";
import { RuntimeInfoSchema } from "../gen/containerd/types/introspection_pb.ts";
import { socketAlive } from "../cli/socket.ts";
import { TtrpcClient } from "../ttrpc/client.ts";
import { eventually } from "./eventually.ts";

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs the binary the way containerd does: cwd = bundle, stdin from /dev/null, killed after
 * `timeoutMs`. The default only guards against a hang: the first exec of a freshly built 110 MB
 * binary has taken over 6 s on a loaded CI machine, and no containerd bounds `-v` or `start`.
 */
function runBinary(binary: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, env: { ...process.env, TTRPC_ADDRESS: join(cwd, "no-containerd.sock") } });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => (signal ? reject(new Error(`${binary} ${args.join(" ")} killed by ${signal}`)) : resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err })));
  });
}

/** `start`, `delete`, `-v` and `-info` as containerd calls them, without containerd. */
export function binaryContract(binary: string, engine: string): void {
  describe(`${binary.replace(/.*\//, "")} binary contract`, () => {
    const dirs: string[] = [];
    const bundle = (sandbox: string) => {
      const dir = mkdtempSync(join(tmpdir(), "contract-"));
      dirs.push(dir);
      writeFileSync(join(dir, "config.json"), JSON.stringify({ annotations: { "io.kubernetes.cri.sandbox-id": sandbox } }));
      return dir;
    };
    afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

    it("-v prints the name and version, -info a RuntimeInfo, nothing on stderr", async () => {
      const v = await runBinary(binary, ["-v"], tmpdir());
      expect(v.code).toBe(0);
      expect(v.stdout.toString()).toMatch(new RegExp(`containerd-shim-${engine}-v1:\\n  Version: \\S+`));
      const info = await runBinary(binary, ["-info"], tmpdir());
      expect(info).toMatchObject({ code: 0, stderr: "" });
      expect(fromBinary(RuntimeInfoSchema, info.stdout).name).toBe(`io.containerd.${engine}.v1`);
    });

    it("start prints only the address, shares one daemon per sandbox, and Shutdown ends it", async () => {
      const sandbox = `contract-${process.pid}-${Date.now()}`;
      const flags = (id: string) => ["-namespace", "contract", "-address", "/run/contract-test.sock", "-publish-binary", "/usr/bin/containerd", "-id", id, "start"];
      const first = await runBinary(binary, flags("a"), bundle(sandbox));
      expect(first).toMatchObject({ code: 0, stderr: "" });
      const address = first.stdout.toString();
      expect(address).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
      expect(readFileSync(join(dirs.at(-1)!, "address"), "utf8")).toBe(address);
      const path = address.slice("unix://".length);
      expect(await socketAlive(path)).toBe(true);
      const second = await runBinary(binary, flags("b"), bundle(sandbox));
      expect(second.stdout.toString()).toBe(address);
      const client = await TtrpcClient.connect(path);
      await client.call("containerd.task.v2.Task", "Shutdown", toBinary(ShutdownRequestSchema, create(ShutdownRequestSchema, { id: "a" }))).catch(() => {});
      client.close();
      await eventually(async () => expect(await socketAlive(path)).toBe(false));
    });

    it("delete cleans up and prints a DeleteResponse within containerd's 5 s", async () => {
      const dir = bundle("unused");
      const res = await runBinary(binary, ["-namespace", "contract", "-address", "/run/contract-test.sock", "-id", "gone", "-bundle", dir, "delete"], dir, 5000);
      expect(res.code).toBe(0);
      const resp = fromBinary(DeleteResponseSchema, res.stdout);
      expect(resp.exitStatus).toBe(137);
      expect(resp.exitedAt?.seconds).toBeGreaterThan(0n);
    });

    it("runs from an empty folder, with nothing beside it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "lonely-"));
      dirs.push(dir);
      const copy = join(dir, `containerd-shim-${engine}-v1`);
      copyFileSync(binary, copy);
      const v = await runBinary(copy, ["-v"], dir);
      expect(v.code).toBe(0);
      expect(v.stdout.toString()).toContain(`containerd-shim-${engine}-v1:`);
      expect(readdirSync(dir)).toEqual([`containerd-shim-${engine}-v1`]);
    });

    it("refuses an unknown action with a clear message", async () => {
      const res = await runBinary(binary, ["frobnicate"], tmpdir());
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/unknown action "frobnicate"/);
    });
  });
}
