import { IDLE_WAIT_NS, SUBSCRIPTION_SIZE } from "@wasm-shims/shim-core/worker";
import { describe, expect, it } from "vitest";
import { settleOnLongWaits } from "../../src/guest-hook.ts";

describe("a wasmer guest settling down to wait, in the SDK's worker", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  /** One clock subscription of `ns` (relative) at `ptr`, as a guest writes it. */
  const sleep = (ptr: number, ns: bigint) => {
    new Uint8Array(memory.buffer, ptr, SUBSCRIPTION_SIZE).fill(0);
    new DataView(memory.buffer).setBigUint64(ptr + 24, ns, true);
  };

  it("compacts the worker's heap at the first long wait only, and always polls", () => {
    const polls: number[] = [];
    let settled = 0;
    const imports = settleOnLongWaits(
      { poll_oneoff: (inPtr: number) => polls.push(inPtr), fd_write: () => 0 },
      () => memory,
      () => settled++,
    );
    sleep(256, IDLE_WAIT_NS - 1n);
    imports.poll_oneoff!(256, 512, 1, 600);
    expect(settled).toBe(0);
    sleep(256, IDLE_WAIT_NS * 10n);
    imports.poll_oneoff!(256, 512, 1, 600);
    imports.poll_oneoff!(256, 512, 1, 600);
    expect(settled).toBe(1);
    expect(polls).toEqual([256, 256, 256]);
  });

  it("never reads outside the guest's memory, nor without one", () => {
    let settled = 0;
    const poll = () => 0;
    settleOnLongWaits(
      { poll_oneoff: poll },
      () => memory,
      () => settled++,
    ).poll_oneoff!(65_530, 0, 1, 0);
    settleOnLongWaits(
      { poll_oneoff: poll },
      () => undefined,
      () => settled++,
    ).poll_oneoff!(0, 0, 1, 0);
    expect(settled).toBe(0);
  });
});
