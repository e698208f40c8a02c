import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, describe, expect, it } from "vitest";
import { deleteAction, deleteResponse } from "../../src/cli/delete.ts";
import { parseFlags } from "../../src/cli/flags.ts";
import { DeleteResponseSchema } from "../../src/gen/containerd/task/v2/shim_pb.ts";

const loadRunc = () => import("../../src/runc/runc.ts");
const dir = mkdtempSync(join(tmpdir(), "delete-action-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A bundle whose shim.json names a runc that only writes down how it was called. */
function bundleWithRecordingRunc(id: string) {
  const bundle = join(dir, id);
  const root = join(dir, `${id}-runc-root`);
  const calls = join(dir, `${id}-calls`);
  const runc = join(dir, `${id}-runc`);
  mkdirSync(bundle);
  writeFileSync(calls, "");
  writeFileSync(runc, `#!/bin/sh\necho "$@" >> ${calls}\n`);
  chmodSync(runc, 0o755);
  writeFileSync(
    join(bundle, "shim.json"),
    JSON.stringify({ runc: { binary: runc, root, systemdCgroup: false }, mountedRootfs: false }),
  );
  writeFileSync(join(bundle, "init.pid"), "4242");
  const flags = parseFlags(["-namespace", "ns", "-id", id, "-bundle", bundle, "delete"]);
  return { root, flags, calls: () => readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) };
}

describe("delete", () => {
  it("does not start runc for a container runc no longer has (the clean exit, every time)", async () => {
    const b = bundleWithRecordingRunc("gone");
    const res = fromBinary(DeleteResponseSchema, await deleteAction(b.flags, "test", loadRunc));
    expect(b.calls()).toEqual([]);
    expect(res.pid).toBe(4242);
    expect(res.exitStatus).toBe(137);
  });

  it("kills and deletes a container runc still has (the daemon died)", async () => {
    const b = bundleWithRecordingRunc("left");
    mkdirSync(join(b.root, "left"), { recursive: true });
    await deleteAction(b.flags, "test", loadRunc);
    expect(b.calls()).toEqual([`--root ${b.root} kill --all left 9`, `--root ${b.root} delete --force left`]);
  });
});

describe("the DeleteResponse `delete` writes by hand", () => {
  it("is the bytes the generated schema writes, zero fields and all", () => {
    for (const [pid, status, ms] of [
      [4242, 137, 1_764_950_400_123],
      [0, 0, 1_764_950_400_000],
      [2 ** 31 + 5, 255, 999],
      [1, 137, 0],
    ] as const) {
      const seconds = Math.floor(ms / 1000);
      const exitedAt = create(TimestampSchema, { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 });
      const expected = toBinary(
        DeleteResponseSchema,
        create(DeleteResponseSchema, { pid, exitStatus: status, exitedAt }),
      );
      expect(Buffer.from(deleteResponse(pid, status, ms)).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
    }
  });
});
