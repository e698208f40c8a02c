import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const tmp = mkdtempSync(join(tmpdir(), "module-guard-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("refuseContainerModules", () => {
  it("lets a thread load built-ins and data: URLs, and no module an image could plant", () => {
    // What an image could ship for the runner's require() to find: /node_modules/<name>.
    mkdirSync(join(tmp, "node_modules", "planted"), { recursive: true });
    writeFileSync(join(tmp, "node_modules", "planted", "index.js"), "console.log('PLANTED CODE RAN');\n");
    const layout = fileURLToPath(new URL("../../src/wasm/runner-layout.ts", import.meta.url));
    const script = `import { refuseContainerModules } from ${JSON.stringify(layout)};
      import { createRequire } from "node:module";
      const require = createRequire(${JSON.stringify(join(tmp, "x.mjs"))});
      console.log("before:", typeof require.resolve("planted"));
      refuseContainerModules();
      try { require("planted"); } catch (e) { console.log("require:", e.code, e.message); }
      try { await import("planted"); } catch (e) { console.log("import:", e.code); }
      console.log("builtin:", typeof require("node:fs").readFileSync, typeof require("path").join);
      console.log("data:", (await import("data:text/javascript,export default 7")).default);`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(out).not.toContain("PLANTED CODE RAN");
    expect(out.split("\n")).toEqual([
      "before: string",
      "require: ERR_MODULE_NOT_FOUND the runner loads no module from the container's file system (planted)",
      "import: ERR_MODULE_NOT_FOUND",
      "builtin: function function",
      "data: 7",
      "",
    ]);
  });
});
