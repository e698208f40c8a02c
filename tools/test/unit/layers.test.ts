import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { importSpecifiers, sourceFiles } from "./source-files.ts";

/**
 * shim-core's layers, top first, as docs/architecture.md draws them: a file may import its own
 * layer or any below, never one above. Keys are paths under packages/shim-core/src (a folder, or a
 * file that overrides its folder).
 */
const layers: Record<string, readonly string[]> = {
  "entry points": ["index.ts", "worker.ts", "cli", "install", "telemetry", "testing"],
  "task lifecycle": ["task"],
  "container parts": ["wasm", "runc", "events"],
  "protocols and specs": ["oci", "containerd", "ttrpc", "sea"],
  // runner-layout.ts is the runner's fd contract and imports nothing: sea reads its assets through it.
  basics: ["errors.ts", "log.ts", "run-helper.ts", "gen", "wire", "wasm/runner-layout.ts"],
};
const order = Object.keys(layers);
const src = "packages/shim-core/src";

/** The layer of a path under src: the longest key that is the path or a folder above it. */
function layerOf(path: string): string {
  let best: [string, string] | undefined;
  for (const [layer, keys] of Object.entries(layers)) {
    for (const key of keys) {
      if ((path === key || path.startsWith(`${key}/`)) && key.length > (best?.[1].length ?? -1)) best = [layer, key];
    }
  }
  if (!best)
    throw new Error(`${path} is in no layer: add it to tools/test/unit/layers.test.ts and docs/architecture.md`);
  return best[0];
}

describe("shim-core's layers", () => {
  const files = sourceFiles(src, [".ts"]);

  it("puts every file of shim-core in a layer", () => {
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) expect(() => layerOf(relative(src, file))).not.toThrow();
  });

  it("has no import from a lower layer into a higher one", () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = relative(src, file);
      for (const spec of importSpecifiers(file).filter((s) => s.startsWith("."))) {
        const to = normalize(join(dirname(from), spec));
        if (order.indexOf(layerOf(to)) < order.indexOf(layerOf(from)))
          upward.push(`${from} (${layerOf(from)}) imports ${to} (${layerOf(to)})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("notices an upward import", () => {
    expect(order.indexOf(layerOf("wasm/engine.ts"))).toBeGreaterThan(order.indexOf(layerOf("cli/main.ts")));
    expect(layerOf("wasm/runner-layout.ts")).toBe("basics");
  });
});

describe("the packages' boundaries", () => {
  it("engines use shim-core's public exports only", () => {
    const reached: string[] = [];
    for (const pkg of ["shim-node", "shim-jco", "shim-wasmer"]) {
      for (const file of sourceFiles(`packages/${pkg}`, [".ts", ".mjs"])) {
        for (const spec of importSpecifiers(file)) {
          if (
            spec.startsWith("@wasm-shims/shim-core") &&
            ![
              "@wasm-shims/shim-core",
              "@wasm-shims/shim-core/native",
              "@wasm-shims/shim-core/testing",
              "@wasm-shims/shim-core/worker",
            ].includes(spec)
          )
            reached.push(`${file}: ${spec}`);
        }
      }
    }
    expect(reached).toEqual([]);
  });

  it("keeps the end-to-end lab out of every package's shipped source", () => {
    const lab = sourceFiles("packages", [".ts", ".mjs"]).filter(
      (f) => /^packages\/[^/]+\/src\//.test(f) && !f.startsWith("packages/test-lab/"),
    );
    expect(lab.length).toBeGreaterThan(50);
    expect(lab.filter((f) => importSpecifiers(f).some((s) => s.startsWith("@wasm-shims/test-lab")))).toEqual([]);
  });

  it("reads every kind of import", () => {
    expect(importSpecifiers("tools/test/unit/layers.test.ts")).toEqual(
      expect.arrayContaining(["node:path", "vitest", "./source-files.ts"]),
    );
    expect(importSpecifiers("packages/shim-jco/src/engine.ts")).toContain("./http.ts");
  });
});
