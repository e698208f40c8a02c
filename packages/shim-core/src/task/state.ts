import { readFile } from "node:fs/promises";
import { join } from "node:path";

// Apart from container.ts so that the `delete` binary, which only needs these, loads nothing else.

/** Bundle files the shim owns. `shim.json` lets the `delete` binary find the container without the daemon. */
export const bundleFiles = {
  state: "shim.json",
  runnerBundle: "wasm-runner",
  initPid: "init.pid",
  runcLog: "log.json",
} as const;

export interface ShimState {
  runc: { binary: string; root: string; systemdCgroup: boolean };
  mountedRootfs: boolean;
}

/** Reads what Create recorded, for the `delete` binary. */
export async function readShimState(bundle: string): Promise<ShimState | undefined> {
  try {
    return JSON.parse(await readFile(join(bundle, bundleFiles.state), "utf8")) as ShimState;
  } catch {
    return undefined;
  }
}
