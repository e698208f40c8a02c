import type { StdioOptions } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { HostRuntime } from "./host-libs.ts";
import { openReadOnly } from "./read-only-fds.ts";
import { fdPath, runnerLayout, type RunnerLayout } from "./runner-layout.ts";

/** The runner's files, open read-only in the shim daemon for as long as it lives (read-only-fds.ts). */
export interface RunnerFds {
  loader: number;
  binary: number;
  libs: number[];
  assets?: number;
  native?: number;
}

let opened: { key: string; fds: Promise<RunnerFds> } | undefined;

/**
 * Opens (once per daemon) exactly the files a Wasm container's process needs: the loader, the
 * binary, each library the loader maps for it, and the directory of the executable's extracted
 * assets. A new key (another binary or asset directory) opens a new set; the old one stays open,
 * as containers may still be started from it.
 */
export function runnerFds(host: HostRuntime, assetDir: string | undefined, nativeFile?: string): Promise<RunnerFds> {
  const key = JSON.stringify([host, assetDir, nativeFile]);
  if (opened?.key === key) return opened.fds;
  const fds = openReadOnly([
    host.loader,
    host.binary,
    ...host.libs,
    ...(assetDir ? [assetDir] : []),
    ...(nativeFile ? [nativeFile] : []),
  ]).then(([loader, binary, ...rest]) => {
    const libs = rest.slice(0, host.libs.length);
    const more = rest.slice(host.libs.length);
    const assets = assetDir ? more.shift() : undefined;
    const native = nativeFile ? more.shift() : undefined;
    return {
      loader: loader!,
      binary: binary!,
      libs,
      ...(assets !== undefined ? { assets } : {}),
      ...(native !== undefined ? { native } : {}),
    };
  });
  opened = { key, fds };
  // A failure is reported to this Create and retried by the next.
  fds.catch(() => {
    if (opened?.fds === fds) opened = undefined;
  });
  return fds;
}

const views = new Map<string, Promise<number>>();

/** A read-only view of `dir` (an fd of it on a read-only mount), made once per daemon. */
function readOnlyView(dir: string): Promise<number> {
  let view = views.get(dir);
  if (!view) {
    view = openReadOnly([dir]).then(([fd]) => fd!);
    views.set(dir, view);
    view.catch(() => views.delete(dir));
  }
  return view;
}

/**
 * Opens the files an engine's `prepare` named, read-only, for one runner process. Each is opened
 * through a read-only view of the directory above its own (for jco, the cache root, whose entries
 * are directories): one view per daemon serves every entry, also ones written later, and a
 * container handed such an fd cannot write the shared cache through /proc.
 */
export async function openPrepared(files: Record<string, string>): Promise<Record<string, number>> {
  const fds: Record<string, number> = {};
  try {
    for (const [name, path] of Object.entries(files)) {
      const root = dirname(dirname(path));
      fds[name] = openSync(`${fdPath(await readOnlyView(root))}/${relative(root, path)}`, "r");
    }
    return fds;
  } catch (err) {
    Object.values(fds).forEach((fd) => closeSync(fd));
    throw err;
  }
}

/** What one runner process gets: the daemon's fds, plus its own prepared files (name -> fd). */
export interface RunnerLaunch {
  fds: RunnerFds;
  files?: Record<string, number>;
}

export function launchLayout(launch: RunnerLaunch): RunnerLayout {
  return runnerLayout(
    launch.fds.libs.length,
    launch.fds.assets !== undefined,
    Object.keys(launch.files ?? {}),
    launch.fds.native !== undefined,
  );
}

/** Closes a launch's own fds (its prepared files): once runc has them, or when it never will. Idempotent. */
export function closeLaunch(launch: RunnerLaunch): void {
  for (const fd of Object.values(launch.files ?? {})) {
    try {
      closeSync(fd);
    } catch {}
  }
  delete launch.files;
}

/**
 * Wraps a runc launch (`runc run`/`runc exec` taking stdio and `--preserve-fds`) so the child
 * receives the runner's fds at 3… in the order of its layout; the launch's own fds are closed
 * once runc holds its copies.
 */
export function withRunnerFds<Child>(
  launch: RunnerLaunch,
  spawnRunc: (stdio: StdioOptions, preserveFds: number, consoleSocket?: string) => Child,
): (stdio: StdioOptions, consoleSocket?: string) => Child {
  return (stdio, consoleSocket) => {
    const base = (stdio as unknown[]).slice(0, 3);
    const { fds } = launch;
    const extra = [
      fds.loader,
      fds.binary,
      ...fds.libs,
      ...(fds.assets !== undefined ? [fds.assets] : []),
      ...(fds.native !== undefined ? [fds.native] : []),
      ...Object.values(launch.files ?? {}),
    ];
    try {
      return spawnRunc([...base, ...extra] as StdioOptions, extra.length, consoleSocket);
    } finally {
      closeLaunch(launch);
    }
  };
}
