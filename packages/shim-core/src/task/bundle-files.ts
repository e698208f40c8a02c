import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RuncConfig } from "../runc/oci-runtime.ts";

// Apart from container.ts so that the `delete` binary, which only needs these, loads nothing else.

/** Bundle files the shim owns. `shim.json` lets the `delete` binary find the container without the daemon. */
export const bundleFiles = {
  state: "shim.json",
  runnerBundle: "wasm-runner",
  initPid: "init.pid",
  runcLog: "log.json",
} as const;

/** What Create records in `shim.json`: how to reach runc and whether to unmount, without the daemon. */
export interface ShimState {
  runc: RuncConfig;
  mountedRootfs: boolean;
}

/** Reads what Create (and Delete) recorded, for the `delete` binary. */
export function readShimState(bundle: string): ShimState | undefined {
  try {
    return JSON.parse(readFileSync(join(bundle, bundleFiles.state), "utf8")) as ShimState;
  } catch {
    return undefined;
  }
}
