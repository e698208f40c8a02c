import { describe, expect, it } from "vitest";
import { selectLayer, splitExport, type WasmImage, type WasmLayer } from "../../src/containerd/artifacts.ts";

const layer = (n: number, title?: string): WasmLayer => ({
  mediaType: "application/wasm",
  digest: `sha256:${String(n).repeat(64)}`,
  size: 8,
  ...(title ? { title } : {}),
});
const image = (...layers: WasmLayer[]): WasmImage => ({
  image: "localhost/app:1",
  manifestDigest: "sha256:m",
  layers,
  isWasm: true,
});

describe("splitExport", () => {
  it("splits runwasi's module.wasm#function, and only that", () => {
    expect(splitExport("app.wasm#serve")).toEqual({ name: "app.wasm", exportName: "serve" });
    expect(splitExport("/a#b/app.wasm#run")).toEqual({ name: "/a#b/app.wasm", exportName: "run" });
    expect(splitExport("/app.wasm")).toEqual({ name: "/app.wasm" });
    expect(splitExport("#run")).toEqual({ name: "#run" });
    expect(splitExport("app.wasm#")).toEqual({ name: "app.wasm#" });
  });
});

describe("selectLayer", () => {
  it("runs a single layer whatever argv[0] says", () => {
    expect(selectLayer(image(layer(1)), "anything.wasm").digest).toBe(layer(1).digest);
    expect(selectLayer(image(layer(1)), undefined).digest).toBe(layer(1).digest);
  });

  it("picks one of several by title (with or without a directory) or by digest", () => {
    const img = image(layer(1, "a.wasm"), layer(2, "b.wasm"));
    expect(selectLayer(img, "b.wasm").digest).toBe(layer(2).digest);
    expect(selectLayer(img, "/b.wasm").digest).toBe(layer(2).digest);
    expect(selectLayer(img, layer(1).digest).digest).toBe(layer(1).digest);
  });

  it("refuses several layers without a selector, naming every layer's digest and media type", () => {
    const img = image(layer(1, "a.wasm"), layer(2));
    expect(() => selectLayer(img, undefined)).toThrow(
      /image localhost\/app:1 has 2 Wasm layers and the container has no entrypoint to choose one.*sha256:1{64} \(application\/wasm, a\.wasm\), sha256:2{64} \(application\/wasm\).*invalid argument$/,
    );
    expect(() => selectLayer(img, "c.wasm")).toThrow(/the entrypoint c\.wasm names none of them/);
    expect(() => selectLayer(image(layer(1, "x.wasm"), layer(2, "d/x.wasm")), "x.wasm")).toThrow(/names more than one/);
  });
});
