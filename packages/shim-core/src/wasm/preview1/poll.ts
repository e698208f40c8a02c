import { fstatSync, statSync, type Stats } from "node:fs";
import { Errno, type GuestMemory } from "./abi.ts";
import type { FdTable } from "./fd-table.ts";
import { SUBSCRIPTION_SIZE } from "./wait.ts";

// A `subscription` (SUBSCRIPTION_SIZE bytes): userdata u64 @0, tag u8 @8, fd u32 @16 (fd_read / fd_write).
/** `event`: userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24; 32 bytes. */
const EVENT_SIZE = 32;
const EVENT_FD_READ = 1;
const EVENT_FD_WRITE = 2;

/** Files poll(2) calls always ready, and epoll refuses: regular files, directories, /dev/null and the other memory devices. */
function alwaysReady(st: Stats): boolean {
  return (
    st.isFile() || st.isDirectory() || st.isBlockDevice() || (st.isCharacterDevice() && ((st.rdev >> 8) & 0xfff) === 1)
  );
}

function hostStat(fds: FdTable, fd: number): Stats | undefined {
  const entry = fds.get(fd);
  try {
    if (entry?.hostFd !== undefined) return fstatSync(entry.hostFd);
    if (entry?.host !== undefined) return statSync(entry.host);
  } catch {}
  return undefined;
}

/**
 * poll_oneoff where uvwasi gives up: it polls fds with epoll, which refuses a regular file or
 * /dev/null (what a container's stdin is when none is attached), and then fails the whole call
 * with PERM. poll(2), and wasmtime, call such an fd always ready: so are they here, reported at
 * once (with nbytes 0) in place of uvwasi's failure. Other errors and results are uvwasi's.
 */
export function pollOneoff(
  mem: GuestMemory,
  fds: FdTable,
  poll: (...args: number[]) => number,
  inPtr: number,
  outPtr: number,
  nsubs: number,
  neventsPtr: number,
): number {
  const rc = poll(inPtr, outPtr, nsubs, neventsPtr);
  const subs = mem.bytes(inPtr, nsubs * SUBSCRIPTION_SIZE);
  if (rc !== Errno.PERM || !subs || !mem.bytes(outPtr, nsubs * EVENT_SIZE) || !mem.bytes(neventsPtr, 4)) return rc;
  const view = mem.view();
  const ready: { userdata: bigint; type: number }[] = [];
  for (let i = 0; i < nsubs; i++) {
    const sub = inPtr + i * SUBSCRIPTION_SIZE;
    const type = view.getUint8(sub + 8);
    if (type !== EVENT_FD_READ && type !== EVENT_FD_WRITE) continue;
    const st = hostStat(fds, view.getUint32(sub + 16, true));
    if (st && alwaysReady(st)) ready.push({ userdata: view.getBigUint64(sub, true), type });
  }
  if (ready.length === 0) return rc;
  new Uint8Array(view.buffer, outPtr, ready.length * EVENT_SIZE).fill(0);
  ready.forEach((ev, i) => {
    const out = outPtr + i * EVENT_SIZE;
    view.setBigUint64(out, ev.userdata, true);
    view.setUint8(out + 10, ev.type);
  });
  view.setUint32(neventsPtr, ready.length, true);
  return Errno.SUCCESS;
}
