import { existsSync } from "node:fs";
import { join } from "node:path";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { bundleFiles, readPidFile, readShimState } from "../task/bundle-files.ts";
import { defaultOptions } from "../task/default-options.ts";
import type { ShimFlags } from "./flags.ts";
import { groupId, removeDeadSocket, socketPath } from "./socket.ts";

export type RuncModule = typeof import("../runc/runc.ts");

/** runc's state root for our containers when the runtime options name none. */
export const defaultRuncRoot = (engine: string, namespace: string) => `/run/containerd/${engine}/${namespace}`;

/**
 * `delete`: containerd's cleanup after the daemon is gone (normally, or because it died). Kills and
 * removes whatever runc still has for this id and unmounts the rootfs — this container only, never
 * the shared daemon — then prints a DeleteResponse. containerd allows it 5 s.
 */
export async function deleteAction(
  flags: ShimFlags,
  engine: string,
  loadRunc: () => Promise<RuncModule>,
): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  const state = readShimState(bundle);
  const config = state?.runc ?? {
    binary: defaultOptions.runcBinary,
    root: defaultRuncRoot(engine, flags.namespace),
    systemdCgroup: defaultOptions.systemdCgroup,
  };
  // containerd runs delete after every daemon exit, the clean ones too, when runc has long since
  // deleted the container. runc keeps a container's state in <root>/<id>: without that there is
  // nothing for runc to kill or delete, and two boots of runc (and loading the code that runs
  // them) are saved on every container's exit.
  let failed: unknown;
  if (existsSync(join(config.root, flags.id))) {
    const runc = new (await loadRunc()).Runc(config);
    await runc.kill(flags.id, 9, true).catch(() => {});
    // A failure is reported after the rest is cleaned: containerd then keeps the bundle, and runs
    // delete again when it next loads its tasks.
    failed = await runc.delete(flags.id).then(
      () => undefined,
      (err: unknown) => err,
    );
  }
  // Without a state (Create never got that far) the mount may still be there. After the daemon's
  // Delete (it leaves `shim-deleted`) there is none, and the code that reads the mount table is
  // not even loaded.
  if (state?.mountedRootfs !== false && !existsSync(join(bundle, bundleFiles.deleted)))
    await (await import("../oci/mount.ts")).unmountAll(join(bundle, "rootfs"));
  // The daemon may have died without unlinking its socket (containerd calls delete when it does).
  if (flags.address)
    await removeDeadSocket(socketPath(flags.address, flags.namespace, await groupId(bundle, flags.id)));
  if (failed) throw failed;
  return deleteResponse(readPidFile(join(bundle, bundleFiles.initPid)), 137, Date.now());
}

/**
 * containerd.task.v2.DeleteResponse { pid = 1; exit_status = 2; google.protobuf.Timestamp
 * exited_at = 3 { seconds = 1; nanos = 2 } }, written field by field: the generated schema would
 * make every container's `delete` build the descriptors of shim.proto and its imports first, the
 * largest part of this boot. A test decodes it with the generated schema.
 */
export function deleteResponse(pid: number, exitStatus: number, exitedAtMs: number): Uint8Array {
  const seconds = Math.floor(exitedAtMs / 1000);
  const nanos = Math.round((exitedAtMs - seconds * 1000) * 1_000_000);
  // proto3 leaves out fields at their zero value, as toBinary would.
  const w = new BinaryWriter();
  if (pid) w.tag(1, WireType.Varint).uint32(pid);
  if (exitStatus) w.tag(2, WireType.Varint).uint32(exitStatus);
  w.tag(3, WireType.LengthDelimited).fork();
  if (seconds) w.tag(1, WireType.Varint).int64(seconds);
  if (nanos) w.tag(2, WireType.Varint).int32(nanos);
  w.join();
  return w.finish();
}
