let counter = 0;

/**
 * A containerd namespace no other process on the machine uses. runc puts cgroups at
 * `/<namespace>/<id>` and its state at `/run/containerd/runc/<namespace>`, both shared by every
 * containerd on the host, so only a private namespace lets a harness clean up without guessing.
 */
export function uniqueNamespace(): string {
  counter += 1;
  return `t${process.pid}-${counter}`;
}

/** Whether `ns` came from uniqueNamespace(), so that everything under its name belongs to us. */
export function isPrivateNamespace(ns: string): boolean {
  return /^t\d+-\d+$/.test(ns);
}
