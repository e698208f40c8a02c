import { describe, expect, it } from "vitest";
import { GLUE_URL } from "../../packages/shim-jco/src/run.ts";
import { partOf } from "../benchmark/http-profile.ts";

describe("the HTTP profile's parts", () => {
  it("puts each sampled frame in the part of the code it ran", () => {
    expect(partOf({ functionName: "(idle)", url: "" })).toBeUndefined();
    expect(partOf({ functionName: "(garbage collector)", url: "" })).toBe("GC");
    expect(partOf({ functionName: "Instance", url: "" })).toBe("core instances (V8)");
    expect(partOf({ functionName: "writev", url: "" })).toBe("socket writes");
    expect(partOf({ functionName: "(program)", url: "" })).toBe("V8 and native, other");
    expect(partOf({ functionName: "AsyncTask", url: GLUE_URL })).toBe("jco glue");
    expect(partOf({ functionName: "wasm-function[3]", url: "wasm://wasm/0a1b" })).toBe("guest wasm");
    expect(partOf({ functionName: "take", url: "file:///r/packages/shim-jco/src/http/instances.ts" })).toBe(
      "memory images",
    );
    expect(partOf({ functionName: "serve", url: "file:///r/packages/shim-jco/src/http/server.ts" })).toBe(
      "shim server and WASI",
    );
    expect(partOf({ functionName: "parserOnIncoming", url: "node:_http_server" })).toBe("Node http and streams");
  });
});
