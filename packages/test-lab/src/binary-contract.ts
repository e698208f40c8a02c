import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, describe, expect, it } from "vitest";
import {
  CreateTaskRequestSchema,
  DeleteResponseSchema,
  ShutdownRequestSchema,
} from "@wasm-shims/shim-core/src/gen/containerd/task/v2/shim_pb.ts";
import { RuntimeInfoSchema } from "@wasm-shims/shim-core/src/gen/containerd/types/introspection_pb.ts";
import { BootstrapResultSchema } from "@wasm-shims/shim-core/src/gen/containerd/runtime/bootstrap/v1/bootstrap_pb.ts";
import { socketAlive, socketPath, spareSocketPath } from "@wasm-shims/shim-core/src/cli/socket.ts";
import { bootstrapParamsBytes, runtimeOptions } from "./containerd-2x.ts";
import { TtrpcClient } from "@wasm-shims/shim-core/src/ttrpc/client.ts";
import { eventually } from "./eventually.ts";

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs the binary the way containerd does: cwd = bundle, stdin from /dev/null or the bytes
 * containerd pipes there, killed after `timeoutMs`. The default only guards against a hang: the first exec of a freshly built 110 MB
 * binary has taken over 6 s on a loaded CI machine, and no containerd bounds `-v` or `start`.
 */
function runBinary(binary: string, args: string[], cwd: string, timeoutMs = 60_000, input?: Uint8Array): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      cwd,
      stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
      timeout: timeoutMs,
      env: { ...process.env, TTRPC_ADDRESS: join(cwd, "no-containerd.sock") },
    });
    child.stdin?.end(input);
    const out: Buffer[] = [];
    let err = "";
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      signal
        ? reject(new Error(`${binary} ${args.join(" ")} killed by ${signal}`))
        : resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }),
    );
  });
}

/** `start`, `delete`, `-v` and `-info` as containerd calls them, without containerd. */
export function binaryContract(binary: string, engine: string): void {
  describe(`${binary.replace(/.*\//, "")} binary contract`, () => {
    const dirs: string[] = [];
    const bundle = (sandbox: string) => {
      const dir = mkdtempSync(join(tmpdir(), "contract-"));
      dirs.push(dir);
      writeFileSync(
        join(dir, "config.json"),
        JSON.stringify({ annotations: { "io.kubernetes.cri.sandbox-id": sandbox } }),
      );
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
      const flags = (id: string) => [
        "-namespace",
        "contract",
        "-address",
        "/run/contract-test.sock",
        "-publish-binary",
        "/usr/bin/containerd",
        "-id",
        id,
        "start",
      ];
      const first = await runBinary(binary, flags("a"), bundle(sandbox));
      expect(first).toMatchObject({ code: 0, stderr: "" });
      const address = first.stdout.toString();
      expect(address).toMatch(/^unix:\/\/\/run\/containerd\/s\/[0-9a-f]{64}$/);
      expect(readFileSync(join(dirs.at(-1)!, "address"), "utf8")).toBe(address);
      const path = address.slice("unix://".length);
      expect(await socketAlive(path)).toBe(true);
      const second = await runBinary(binary, flags("b"), bundle(sandbox));
      expect(second.stdout.toString()).toBe(address);
      await shutdownDaemon(path);
      await eventually(async () => expect(await socketAlive(path)).toBe(false));
    });

    it("start reads containerd 2.3's BootstrapParams from stdin and puts the socket in its socket_dir", async () => {
      const socketDir = mkdtempSync("/tmp/ctd-s-");
      dirs.push(socketDir);
      const sandbox = `contract23-${process.pid}-${Date.now()}`;
      const start = (id: string) => ({
        args: [
          "-namespace",
          "contract",
          "-address",
          "/run/contract-test.sock",
          "-publish-binary",
          "/usr/local/bin/containerd",
          "-id",
          id,
          "start",
        ],
        stdin: bootstrapParamsBytes({
          id,
          namespace: "contract",
          grpcAddress: "/run/contract-test.sock",
          ttrpcAddress: "/run/contract-test.sock.ttrpc",
          socketDir,
          options: runtimeOptions("/etc/containerd/wasm.toml"),
        }),
      });
      const a = start("a");
      const first = await runBinary(binary, a.args, bundle(sandbox), 60_000, a.stdin);
      expect(first).toMatchObject({ code: 0, stderr: "" });
      const path = socketPath("/run/contract-test.sock", "contract", sandbox, socketDir);
      expect(first.stdout.toString()).toBe(`unix://${path}`);
      // 2.3 decodes the output as a BootstrapResult first: the plain address must fail that, so it reads it as an address.
      expect(() => fromBinary(BootstrapResultSchema, first.stdout)).toThrow();
      expect(await socketAlive(path)).toBe(true);
      const b = start("b");
      expect((await runBinary(binary, b.args, bundle(sandbox), 60_000, b.stdin)).stdout.toString()).toBe(
        `unix://${path}`,
      );
      const other = start("c");
      const wrong = await runBinary(
        binary,
        other.args.map((x) => (x === "c" ? "d" : x)),
        bundle("elsewhere"),
        60_000,
        other.stdin,
      );
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/BootstrapParams are for "c" in namespace "contract", but the flags say "d"/);
      expect(readdirSync(socketDir)).toEqual([path.slice(socketDir.length + 1)]);
      await shutdownDaemon(path);
      // The pod's socket goes; the spare the daemon starts as it exits waits there (docs/architecture.md).
      const spare = spareSocketPath(socketDir, binary, "/run/contract-test.sock").slice(socketDir.length + 1);
      const podSockets = () => readdirSync(socketDir).filter((n) => n !== spare && n !== `${spare}.claim`);
      await eventually(async () => expect(podSockets()).toEqual([]));
    });

    it("a Create that races the last Shutdown gets UNAVAILABLE, and the socket goes as Shutdown is answered", async () => {
      const sandbox = `contract-race-${process.pid}-${Date.now()}`;
      const dir = bundle(sandbox);
      const res = await runBinary(
        binary,
        ["-namespace", "contract", "-address", "/run/contract-test.sock", "-id", "a", "start"],
        dir,
      );
      const path = res.stdout.toString().slice("unix://".length);
      const client = await TtrpcClient.connect(path);
      // Both frames leave together, as when containerd reuses a pod's shim just as its last task goes.
      const shutdown = client.call(
        "containerd.task.v2.Task",
        "Shutdown",
        toBinary(ShutdownRequestSchema, create(ShutdownRequestSchema, { id: "a" })),
      );
      const createTask = client.call(
        "containerd.task.v2.Task",
        "Create",
        toBinary(CreateTaskRequestSchema, create(CreateTaskRequestSchema, { id: "b", bundle: dir })),
      );
      await shutdown;
      expect(existsSync(path)).toBe(false);
      await expect(createTask).rejects.toMatchObject({
        code: 14,
        message: "the shim is shutting down (it had no task left): create b through a new shim: unavailable",
      });
      client.close();
      expect(readdirSync(dir).sort()).toEqual(["address", "config.json"]);
    });

    it("a Create sent just after Shutdown's answer is refused with UNAVAILABLE, not cut off", async () => {
      const dir = bundle(`contract-late-${process.pid}-${Date.now()}`);
      const res = await runBinary(
        binary,
        ["-namespace", "contract", "-address", "/run/contract-test.sock", "-id", "a", "start"],
        dir,
      );
      const client = await TtrpcClient.connect(res.stdout.toString().slice("unix://".length));
      const call = (method: string, bytes: Uint8Array) => client.call("containerd.task.v2.Task", method, bytes);
      await call("Shutdown", toBinary(ShutdownRequestSchema, create(ShutdownRequestSchema, { id: "a" })));
      await expect(
        call("Create", toBinary(CreateTaskRequestSchema, create(CreateTaskRequestSchema, { id: "b", bundle: dir }))),
      ).rejects.toMatchObject({ code: 14, message: expect.stringMatching(/the shim is shutting down/) });
      client.close();
    });

    it("delete cleans up and prints a DeleteResponse within containerd's 5 s", async () => {
      const dir = bundle("unused");
      const res = await runBinary(
        binary,
        ["-namespace", "contract", "-address", "/run/contract-test.sock", "-id", "gone", "-bundle", dir, "delete"],
        dir,
        5000,
      );
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

/** Asks the daemon at `path` to shut down, as containerd does after its last Delete; its answer does not matter. */
async function shutdownDaemon(path: string): Promise<void> {
  const client = await TtrpcClient.connect(path);
  await client
    .call(
      "containerd.task.v2.Task",
      "Shutdown",
      toBinary(ShutdownRequestSchema, create(ShutdownRequestSchema, { id: "a" })),
    )
    .catch(() => {});
  client.close();
}
