// What a spare (cli/spare.ts) makes of the request the native entry (native/entry/fast_start.c)
// sends: the plan Node's `start` would make from the same command line, environment, directory
// and stdin, or the reason it leaves that `start` to Node.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseFlags } from "../../src/cli/flags.ts";
import { planNativeStart } from "../../src/cli/spare-start.ts";
import { planStart } from "../../src/cli/start.ts";

const dir = mkdtempSync(join(tmpdir(), "spare-start-"));
const address = join(dir, "containerd.sock");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("what a spare makes of the native entry's request", () => {
  it("is what Node's start plans from the same command line, environment, directory and stdin", async () => {
    const bundle = join(dir, "plan");
    mkdirSync(bundle);
    const argv = ["-namespace", "ns", "-address", address, "-id", "c1", "start"];
    const env = { PATH: "/bin", ODD: "caf\u00e9", TTRPC_ADDRESS: `${address}.ttrpc` };
    const latin1 = (s: string) => Buffer.from(s, "utf8").toString("latin1");
    const planned = await planNativeStart({
      start: {
        argv: ["/x/shim", ...argv].map(latin1),
        env: Object.entries(env).map(([k, v]) => latin1(`${k}=${v}`)),
        cwd: latin1(bundle),
        stdin: "",
        ppid: 4242,
        priority: 5,
      },
    });
    if (typeof planned === "string") throw new Error(planned);
    const own = await planStart(parseFlags(argv), env, new Uint8Array(), bundle, 4242);
    expect(planned.plan).toEqual(own);
    expect(planned.adopt).toEqual({ argv: own.argv, env: own.env, priority: 5 });
    expect(own.env.WASM_SHIM_CONTAINERD_PID).toBe("4242");
  });

  it("refuses what Node's start would do otherwise: traced, spares off, not a start, malformed", async () => {
    const base = {
      argv: ["/x", "-namespace", "ns", "-address", address, "-id", "c1", "start"],
      env: [] as string[],
      cwd: dir,
      stdin: "",
      ppid: 1,
      priority: 0,
    };
    const plan = (start: Partial<typeof base>) => planNativeStart({ start: { ...base, ...start } });
    expect(await plan({ env: ["OTEL_EXPORTER_OTLP_ENDPOINT=http://x"] })).toBe("traced");
    expect(await plan({ env: ["WASM_SHIM_SPARE=0"] })).toBe("spares disabled");
    expect(await plan({ env: ["NODE_OPTIONS=--inspect"] })).toBe("spares disabled");
    expect(await plan({ argv: ["/x", "-id", "c1", "delete"] })).toBe("not a start");
    expect(await plan({ priority: 40 })).toBe("malformed start");
    expect(await plan({ argv: ["/x", "-id", "c1", "start"] })).toMatch(/-namespace/);
  });
});
