/** `subscription`: userdata u64 @0, tag u8 @8; a clock's timeout u64 @24 and flags u16 @40; 48 bytes. */
export const SUBSCRIPTION_SIZE = 48;
const EVENT_CLOCK = 0;
const SUBSCRIPTION_CLOCK_ABSTIME = 1;
/** A wait this long is the guest going idle (a sleep, a server between requests), not a busy poll. */
export const IDLE_WAIT_NS = 100_000_000n;

/**
 * Whether a poll_oneoff call is the guest settling down to wait: a relative clock of at least
 * `IDLE_WAIT_NS` (or an absolute one), or fds with no clock at all (waits until one is ready).
 * A poll with a short or zero timeout is a guest still working. `subscriptions`: the call's
 * array, as the guest's memory holds it.
 */
export function pollWaits(subscriptions: Uint8Array | undefined): boolean {
  if (!subscriptions?.length) return false;
  const view = new DataView(subscriptions.buffer, subscriptions.byteOffset, subscriptions.byteLength);
  for (let sub = 0; sub + SUBSCRIPTION_SIZE <= view.byteLength; sub += SUBSCRIPTION_SIZE) {
    if (view.getUint8(sub + 8) !== EVENT_CLOCK) continue;
    const absolute = (view.getUint16(sub + 40, true) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
    if (!absolute && view.getBigUint64(sub + 24, true) < IDLE_WAIT_NS) return false;
  }
  return true;
}
