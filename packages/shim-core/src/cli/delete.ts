import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { DeleteResponseSchema } from "../gen/containerd/task/v2/shim_pb.ts";
import { unmountAll } from "../oci/mount.ts";
import { Runc } from "../runc/runc.ts";
import { bundleFiles, readShimState } from "../task/bundle-files.ts";
import { defaultOptions } from "../task/options.ts";
import type { ShimFlags } from "./flags.ts";
import { groupId, removeDeadSocket, socketPath } from "./socket.ts";

/** runc's state root for our containers when the runtime options name none. */
export const defaultRuncRoot = (engine: string, namespace: string) => `/run/containerd/${engine}/${namespace}`;

/**
 * `delete`: containerd's cleanup after the daemon is gone (normally, or because it died). Kills and
 * removes whatever runc still has for this id and unmounts the rootfs — this container only, never
 * the shared daemon — then prints a DeleteResponse. containerd allows it 5 s.
 */
export async function deleteAction(flags: ShimFlags, engine: string): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  const state = await readShimState(bundle);
  const runc = new Runc(
    state?.runc ?? {
      binary: defaultOptions.runcBinary,
      root: defaultRuncRoot(engine, flags.namespace),
      systemdCgroup: defaultOptions.systemdCgroup,
    },
  );
  // containerd runs delete after every daemon exit, the clean ones too, when runc has long since
  // deleted the container. runc keeps a container's state in <root>/<id>: without that there is
  // nothing for runc to kill or delete, and two boots of runc are saved on every container's exit.
  const known = existsSync(join(runc.config.root, flags.id));
  if (known) await runc.kill(flags.id, 9, true).catch(() => {});
  // A failure is reported after the rest is cleaned: containerd then keeps the bundle, and runs
  // delete again when it next loads its tasks.
  const failed = known
    ? await runc.delete(flags.id).then(
        () => undefined,
        (err: unknown) => err,
      )
    : undefined;
  // Without a state (Create never got that far) the mount may still be there.
  if (state?.mountedRootfs !== false) await unmountAll(join(bundle, "rootfs"));
  // The daemon may have died without unlinking its socket (containerd calls delete when it does).
  if (flags.address)
    await removeDeadSocket(socketPath(flags.address, flags.namespace, await groupId(bundle, flags.id)));
  if (failed) throw failed;
  const pid = Number.parseInt(await readFile(join(bundle, bundleFiles.initPid), "utf8").catch(() => "0"), 10) || 0;
  return toBinary(
    DeleteResponseSchema,
    create(DeleteResponseSchema, { pid, exitStatus: 137, exitedAt: timestampNow() }),
  );
}
