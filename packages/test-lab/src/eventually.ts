import { setTimeout as sleep } from "node:timers/promises";

/** Polls until `check` passes or `ms` elapse; the last failure is what the test reports. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
