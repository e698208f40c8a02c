import { constants, openSync, realpathSync } from "node:fs";
import { FILETYPE } from "./abi.ts";
import type { FdTable } from "./fds.ts";
import type { Resolver } from "./resolve.ts";

/**
 * Opens each preopened directory as the guest's next fd (from 3 on, in order), read-only, under
 * the name fd_prestat_dir_name reports. One that does not resolve, or is not a directory we may
 * open, is left out: the guest goes without it, as with a missing one.
 */
export function openPreopens(table: FdTable, resolver: Resolver, preopens: { name: string; path: string }[]): void {
  for (const p of preopens) {
    let host: string;
    try {
      host = realpathSync(resolver.host(p.path));
    } catch {
      continue;
    }
    let fd: number;
    try {
      fd = openSync(host, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch {
      continue; // not a directory, or not ours to open: the guest goes without it, as with a missing one
    }
    table.add({
      kind: "host",
      fd,
      path: host,
      type: FILETYPE.DIRECTORY,
      read: true,
      write: false,
      flags: 0,
      pos: 0,
      preopen: p.name,
    });
  }
}
