import type { ChildProcess, StdioOptions } from "node:child_process";
import type { Writable } from "node:stream";
import type { HostRuntime } from "../oci/host-libs.ts";
import { openReadOnly } from "./read-only-fds.ts";
import { runnerLayout, type RunnerLayout } from "./runner-layout.ts";
import { writeFiles } from "./payload.ts";

/** The runner's files, open read-only in the shim daemon for as long as it lives (read-only-fds.ts). */
export interface RunnerFds {
  loader: number;
  binary: number;
  libs: number[];
  assets?: number;
}

let opened: { key: string; fds: Promise<RunnerFds> } | undefined;

/**
 * Opens (once per daemon) exactly the files a Wasm container's process needs: the loader, the
 * binary, each library the loader maps for it, and the directory of the executable's extracted
 * assets. A new key (another binary or asset directory) opens a new set; the old one stays open,
 * as containers may still be started from it.
 */
export function runnerFds(host: HostRuntime, assetDir: string | undefined): Promise<RunnerFds> {
  const key = JSON.stringify([host, assetDir]);
  if (opened?.key === key) return opened.fds;
  const fds = openReadOnly([host.loader, host.binary, ...host.libs, ...(assetDir ? [assetDir] : [])]).then(([loader, binary, ...rest]) => {
    const libs = rest.slice(0, host.libs.length);
    return { loader: loader!, binary: binary!, libs, ...(assetDir ? { assets: rest[host.libs.length]! } : {}) };
  });
  opened = { key, fds };
  // A failure is reported to this Create and retried by the next.
  fds.catch(() => {
    if (opened?.fds === fds) opened = undefined;
  });
  return fds;
}

/** What one runner process gets: the daemon's fds, plus the files `prepare` named (streamed, see payload.ts). */
export interface RunnerLaunch {
  fds: RunnerFds;
  /** Name in the runner -> file on the host. */
  files?: Record<string, string>;
}

export function launchLayout(launch: RunnerLaunch): RunnerLayout {
  return runnerLayout(launch.fds.libs.length, launch.fds.assets !== undefined, launch.files !== undefined);
}

/**
 * Wraps a runc launch (`runc run`/`runc exec` taking stdio and `--preserve-fds`) so the child
 * receives the runner's fds at 3… in the order of its layout; the prepared files go through a
 * socket the shim writes while the runner reads them at start.
 */
export function withRunnerFds(launch: RunnerLaunch, spawnRunc: (stdio: StdioOptions, preserveFds: number) => ChildProcess): (stdio: StdioOptions) => ChildProcess {
  return (stdio) => {
    const base = (stdio as unknown[]).slice(0, 3);
    const { fds } = launch;
    const extra: unknown[] = [fds.loader, fds.binary, ...fds.libs];
    if (fds.assets !== undefined) extra.push(fds.assets);
    if (launch.files) extra.push("pipe");
    const child = spawnRunc([...base, ...extra] as StdioOptions, extra.length);
    if (launch.files) {
      const socket = child.stdio[3 + extra.length - 1] as Writable | null;
      // Errors are the runner's to report (it exits with a clear message when its files are
      // short), and a runner that never reads (it failed to start) must not take the shim down.
      socket?.on("error", () => {});
      if (socket) void writeFiles(socket, launch.files).catch(() => socket.destroy());
    }
    return child;
  };
}
