import { describe, expect, it } from "vitest";
import { GLUE_URL, moduleFunction } from "../src/run.ts";
import { ENTRY_MODULE, transpileModule } from "../src/transpile.ts";
import { buildComponents } from "./components.ts";

// The runner evaluates jco's output as a function body (an executable's main script cannot
// import() it): every output shape the shim makes must go through, and anything else be refused.
describe("the transpiled module as a function", () => {
  it("gives instantiate for a command and for an HTTP handler (JSPI) transpile", async () => {
    const { hello, http } = await buildComponents();
    for (const component of [hello, http]) {
      const { files } = await transpileModule(component, "/c.wasm");
      expect(typeof moduleFunction(Buffer.from(files[ENTRY_MODULE]!).toString("utf8"))).toBe("function");
    }
  }, 120_000);

  // The benchmark's profile finds the glue's frames by this URL; without it they were anonymous
  // and counted as V8's own time.
  it("names the glue's frames in stack traces", () => {
    const instantiate = moduleFunction('export function instantiate() { throw new Error("from the glue"); }\n');
    expect(() => instantiate(() => undefined as never, {})).toThrow(
      expect.objectContaining({ stack: expect.stringContaining(`${GLUE_URL}:`) }),
    );
  });

  it("refuses a module with other exports or imports, naming the file", () => {
    expect(() => moduleFunction("export function instantiate() {}\nexport const other = 1;\n")).toThrow(
      /component\.mjs is not the instantiation module/,
    );
    expect(() => moduleFunction('import x from "y";\nexport function instantiate() {}\n')).toThrow(
      /component\.mjs is not the instantiation module/,
    );
    expect(() => moduleFunction("export default 1;\n")).toThrow(/component\.mjs/);
  });
});
