import { createHash } from "node:crypto";
import type { BigIntStats } from "node:fs";

/**
 * A file's identity: inode, size and its modification, change and birth times, as the kernel
 * reports them through any overlay mount of the same layers (st_dev differs between mounts and is
 * left out). Change and birth times are the kernel's clock, which no one without the host's clock
 * sets: a file written or replaced since has another identity. Another file that happened to
 * match would only skip Create's checks; the runner's engine validates what it compiles.
 */
export function fileIdentity(st: BigIntStats): string {
  return createHash("sha256")
    .update(`${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.birthtimeNs}`)
    .digest("hex");
}
