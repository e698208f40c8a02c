// containerd's `delete` against each built executable: answered before Node boots when the daemon's
// Delete left `shim-deleted` and all it names is as it said; otherwise Node's `delete` answers as
// before. The two are told apart by the pid: the stub takes it from `shim-deleted`, Node from
// init.pid, which a test bundle sets to another number.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeleteResponseSchema } from "../../src/gen/containerd/task/v2/shim_pb.ts";

const binDir = fileURLToPath(new URL("../../../../dist/bin", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "fast-delete-"));
const STUB_PID = 2222;
const NODE_PID = 1111;
let alive: Server;
const aliveSocket = join(dir, "alive.sock");
beforeAll(async () => {
  alive = createServer((c) => c.destroy());
  await new Promise<void>((resolve) => alive.listen(aliveSocket, resolve));
});
afterAll(() => {
  alive.close();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
/** A bundle as containerd leaves it for `delete`, with `shim-deleted` holding `marker` (none if undefined). */
function bundle(marker?: string): string {
  const b = join(dir, `b${++seq}`);
  mkdirSync(b);
  // runc's root for the Node path: nothing there, so it runs no runc.
  writeFileSync(
    join(b, "shim.json"),
    JSON.stringify({
      runc: { binary: "runc", root: join(dir, "no-root"), systemdCgroup: false },
      mountedRootfs: false,
    }),
  );
  writeFileSync(join(b, "init.pid"), String(NODE_PID));
  if (marker !== undefined) writeFileSync(join(b, "shim-deleted"), marker);
  return b;
}
const marker = (runcState: string, socket: string) => `v1\n${STUB_PID}\n${runcState}\n${socket}\n`;

function runDelete(engine: string, b: string, args = ["-id", "c1", "-bundle", b, "delete"]) {
  const r = spawnSync(
    join(binDir, `containerd-shim-${engine}-v1`),
    ["-namespace", "ns", "-address", join(dir, "containerd.sock"), "-publish-binary", "/bin/true", ...args],
    { cwd: b, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
  );
  expect(r.stderr.toString()).toBe("");
  expect(r.status).toBe(0);
  const res = fromBinary(DeleteResponseSchema, r.stdout);
  expect(res.exitStatus).toBe(137);
  const at = Number(res.exitedAt?.seconds) * 1000 + (res.exitedAt?.nanos ?? 0) / 1e6;
  expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
  return res.pid;
}

describe.each(["node", "jco", "wasmer"])("containerd-shim-%s-v1 delete", (engine) => {
  const gone = () => join(dir, "no-root", "c1");

  it("answers from shim-deleted when runc has no container and the daemon's socket is gone", () => {
    expect(runDelete(engine, bundle(marker(gone(), join(dir, "no.sock"))))).toBe(STUB_PID);
  });

  it("answers from shim-deleted when the socket still serves (a pod's other containers)", () => {
    expect(runDelete(engine, bundle(marker(gone(), aliveSocket)))).toBe(STUB_PID);
  });

  it("takes the bundle from -bundle=, --bundle or the working directory, as Go's flags do", () => {
    const b = bundle(marker(gone(), ""));
    expect(runDelete(engine, b, ["-id", "c1", `-bundle=${b}`, "delete"])).toBe(STUB_PID);
    expect(runDelete(engine, b, ["--id", "c1", "--bundle", b, "-debug", "delete"])).toBe(STUB_PID);
    expect(runDelete(engine, b, ["-id", "c1", "delete"])).toBe(STUB_PID);
  });

  it("leaves it to Node when runc still has the container", () => {
    const state = join(dir, `runc-state-${engine}`);
    mkdirSync(state, { recursive: true });
    expect(runDelete(engine, bundle(marker(state, "")))).toBe(NODE_PID);
  });

  it("leaves it to Node when the socket is there but nobody answers (a daemon that died)", () => {
    const dead = join(dir, `dead-${engine}.sock`);
    writeFileSync(dead, "");
    expect(runDelete(engine, bundle(marker(gone(), dead)))).toBe(NODE_PID);
  });

  it("leaves it to Node with no shim-deleted, a torn one, another version or another command line", () => {
    expect(runDelete(engine, bundle())).toBe(NODE_PID);
    expect(runDelete(engine, bundle(`v1\n${STUB_PID}\n${gone()}`))).toBe(NODE_PID);
    expect(runDelete(engine, bundle(`v2\n${STUB_PID}\n${gone()}\n\n`))).toBe(NODE_PID);
    expect(runDelete(engine, bundle(`v1\n12x\n${gone()}\n\n`))).toBe(NODE_PID);
    const b = bundle(marker(gone(), ""));
    expect(runDelete(engine, b, ["-id", "c1", "-bundle", b, "-unknown", "x", "delete"])).toBe(NODE_PID);
  });

  it("is not in the way of any other command", () => {
    const r = spawnSync(join(binDir, `containerd-shim-${engine}-v1`), ["-v"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`containerd-shim-${engine}-v1`);
  });
});
