import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { HostMount } from "./sdk.ts";

/** Kernel file systems and /dev stay the SDK's own: a guest cannot use the host's, and /dev/null must be the SDK's. */
const SKIP = new Set(["proc", "sys", "dev"]);
/** The SDK reserves these and refuses to mount over them. */
const RESERVED = new Set(["workspace"]);
/** Top-level files cannot be mounted, only copied; past these limits they are left out. */
const MAX_FILE = 1 << 20;
const MAX_TOTAL = 16 << 20;

export interface GuestRoot {
  mounts: HostMount[];
  /** Regular files directly under `/`, by guest path. */
  files: Record<string, Uint8Array>;
}

/**
 * What of the container's root the guest sees. The SDK's file system is in memory and will not
 * mount over `/`, so every top-level directory becomes a live host mount (nothing is copied; bind
 * mounts below them, such as `ctr run --mount …,dst=/data`, come along because this process sees
 * them), and top-level files, which are usually the module and a few small siblings, are copied.
 */
export function guestRoot(root = "/"): GuestRoot {
  const mounts: HostMount[] = [];
  const files: Record<string, Uint8Array> = {};
  let total = 0;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const host = join(root, entry.name);
    let st;
    try {
      st = statSync(host);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!SKIP.has(entry.name) && !RESERVED.has(entry.name))
        mounts.push({ guest: `/${entry.name}`, host, readOnly: false });
    } else if (st.isFile() && st.size <= MAX_FILE && total + st.size <= MAX_TOTAL) {
      try {
        files[`/${entry.name}`] = readFileSync(host);
        total += st.size;
      } catch {}
    }
  }
  return { mounts, files };
}
