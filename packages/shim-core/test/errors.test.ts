import { describe, expect, it } from "vitest";
import { Code, hostFailure, toStatus } from "../src/errors.ts";

describe("hostFailure", () => {
  it("makes a system call's failure UNKNOWN, keeping its message, and leaves other errors alone", () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    expect(toStatus(hostFailure(full))).toEqual({
      code: Code.UNKNOWN,
      message: "ENOSPC: no space left on device, write",
    });
    expect(hostFailure(new Error("not a module"))).toBeUndefined();
    expect(hostFailure(Object.assign(new Error("x"), { code: "ERR_INVALID_ARG_TYPE" }))).toBeUndefined();
    expect(hostFailure(undefined)).toBeUndefined();
  });
});
