import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Runc } from "../../src/runc/runc.ts";

const dir = mkdtempSync(join(tmpdir(), "runc-ps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A runc whose `ps` prints `out`. */
function runcPrinting(out: string): Runc {
  const binary = join(dir, `runc-${Math.random().toString(36).slice(2)}`);
  writeFileSync(binary, `#!/bin/sh\nprintf '%s' '${out}'\n`);
  chmodSync(binary, 0o755);
  return new Runc({ binary, root: join(dir, "root"), systemdCgroup: false });
}

describe("runc ps", () => {
  it("reads runc's list of pids, and its null for a container with no process left", async () => {
    expect(await runcPrinting("[12,34]").ps("c")).toEqual([12, 34]);
    expect(await runcPrinting("null").ps("c")).toEqual([]);
    expect(await runcPrinting("").ps("c")).toEqual([]);
  });
});
