import { readFileSync } from "node:fs";
import { parse, type TomlTable } from "smol-toml";
import { describe, expect, it } from "vitest";
import { addRuntime, removeRuntime, type RuntimeSpec } from "../../src/install/config-edit.ts";

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");
const spec = (engine: string): RuntimeSpec => ({
  binary: `containerd-shim-${engine}-v1`,
  handler: `wasm-${engine}`,
  runtimeType: `io.containerd.${engine}.v1`,
});
const containerd16 = () => "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3";
const containerd2 = () =>
  "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376";
const noContainerd = () => undefined;
const engines = ["node", "wasmer", "jco"];

const get = (doc: TomlTable, path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node as TomlTable | undefined)?.[key], doc);
/** The document without our runtimes (and the version we added), for "everything else is kept". */
const without = (doc: TomlTable, runtimes: string[]): TomlTable => {
  const copy = JSON.parse(JSON.stringify(doc)) as TomlTable;
  const table = get(copy, runtimes) as TomlTable | undefined;
  for (const e of engines) delete table?.[`wasm-${e}`];
  // A runtimes table that only our headers created goes too.
  if (table && Object.keys(table).length === 0)
    delete (get(copy, runtimes.slice(0, -1)) as TomlTable)[runtimes[runtimes.length - 1]!];
  return copy;
};

const cases = [
  { file: "containerd-1.6-default.toml", runtimes: ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"] },
  {
    file: "containerd-2.x-default.toml",
    runtimes: ["plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes"],
  },
  { file: "k3s.toml", runtimes: ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"] },
  { file: "commented.toml", runtimes: ["plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes"] },
  { file: "legacy-v1.toml", runtimes: ["plugins", "cri", "containerd", "runtimes"] },
];

describe.each(cases)("$file", ({ file, runtimes }) => {
  const original = fixture(file);

  it("gets every engine's runtime in the right section and keeps everything else", () => {
    let text = original;
    for (const e of engines) {
      const edit = addRuntime(text, spec(e), noContainerd);
      expect(edit.changed).toBe(true);
      text = edit.text;
    }
    const doc = parse(text);
    for (const e of engines)
      expect(get(doc, [...runtimes, `wasm-${e}`])).toEqual({ runtime_type: `io.containerd.${e}.v1` });
    expect(without(doc, runtimes)).toEqual(JSON.parse(JSON.stringify(parse(original))));
    // Only whole lines were added: every original line is still there, in order.
    const added = text.split("\n").filter((l) => !original.split("\n").includes(l));
    expect(
      added.every((l) =>
        /# (BEGIN|END) containerd-shim-\w+-v1 \(managed\)$|^\s*\[.*wasm-\w+\]$|runtime_type = "io\.containerd\.\w+\.v1"$/.test(
          l.trim(),
        ),
      ),
    ).toBe(true);
  });

  it("changes nothing on a second run and restores the original bytes on uninstall, in any order", () => {
    let text = original;
    for (const e of engines) text = addRuntime(text, spec(e), noContainerd).text;
    for (const e of engines) expect(addRuntime(text, spec(e), noContainerd)).toMatchObject({ changed: false, text });
    for (const e of ["jco", "node", "wasmer"]) {
      const edit = removeRuntime(text, spec(e));
      expect(edit.changed).toBe(true);
      expect(get(parse(edit.text), [...runtimes, `wasm-${e}`])).toBeUndefined();
      text = edit.text;
    }
    expect(text).toBe(original);
    expect(removeRuntime(text, spec("node"))).toMatchObject({ changed: false, text: original });
  });
});

describe("a file without version = N", () => {
  it("gets the version of the containerd in use, in a block that goes with the last runtime", () => {
    for (const [containerd, version, section] of [
      [containerd16, 2, "io.containerd.grpc.v1.cri"],
      [containerd2, 3, "io.containerd.cri.v1.runtime"],
    ] as const) {
      for (const original of [fixture("empty.toml"), "# nothing here yet\n", 'root = "/data/containerd"\n']) {
        const one = addRuntime(original, spec("node"), containerd).text;
        const two = addRuntime(one, spec("wasmer"), noContainerd).text;
        const doc = parse(two);
        expect(doc["version"]).toBe(version);
        expect(get(doc, ["plugins", section, "containerd", "runtimes", "wasm-wasmer", "runtime_type"])).toBe(
          "io.containerd.wasmer.v1",
        );
        expect(addRuntime(two, spec("node"), noContainerd).text).toBe(two);
        const back = removeRuntime(removeRuntime(two, spec("node")).text, spec("wasmer")).text;
        expect(back).toBe(original);
      }
    }
  });

  it("asks for --containerd-version when containerd is not there to say", () => {
    expect(() => addRuntime("", spec("node"), noContainerd)).toThrow(/--containerd-version/);
    expect(() => addRuntime("", spec("node"), () => "containerd something odd")).toThrow(
      /cannot find a version number/,
    );
  });
});

describe("refusals", () => {
  it("rejects invalid TOML with where it is wrong", () => {
    expect(() => addRuntime(fixture("invalid.toml"), spec("node"), containerd16)).toThrow(/not valid TOML.*line 5/);
    expect(() => removeRuntime(fixture("invalid.toml"), spec("node"))).toThrow(/not valid TOML/);
  });

  it("leaves a runtime of the same name that someone configured by hand, and refuses a different one", () => {
    const same =
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasm-node]\n  runtime_type = "io.containerd.node.v1"\n';
    expect(addRuntime(same, spec("node"), noContainerd)).toMatchObject({ changed: false, text: same });
    expect(removeRuntime(same, spec("node"))).toMatchObject({ changed: false, text: same });
    const other = same.replace("io.containerd.node.v1", "io.containerd.other.v1");
    expect(() => addRuntime(other, spec("node"), noContainerd)).toThrow(
      /already configured with runtime_type "io.containerd.other.v1"/,
    );
  });

  it("refuses what a header cannot extend, and says what to add by hand", () => {
    const inline =
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }\n';
    expect(() => addRuntime(inline, spec("node"), noContainerd)).toThrow(
      /add it by hand:\n {2}\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.wasm-node\]/,
    );
    expect(() => addRuntime("version = 4\n", spec("node"), noContainerd)).toThrow(/unsupported config version 4/);
  });

  it("refuses a BEGIN marker without its END", () => {
    const broken = "version = 2\n# BEGIN containerd-shim-node-v1 (managed)\n";
    expect(() => addRuntime(broken, spec("node"), noContainerd)).toThrow(/without "# END containerd-shim-node-v1/);
    expect(() => removeRuntime(broken, spec("node"))).toThrow(/fix it by hand/);
  });
});

describe("layout", () => {
  it("keeps CRLF line ends and a missing final newline", () => {
    const crlf =
      'version = 2\r\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\r\n  runtime_type = "io.containerd.runc.v2"';
    const edit = addRuntime(crlf, spec("node"), noContainerd);
    const header = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasm-node]';
    expect(edit.text).toBe(
      `${crlf}\n# BEGIN containerd-shim-node-v1 (managed)\r\n${header}\r\n  runtime_type = "io.containerd.node.v1"\r\n# END containerd-shim-node-v1 (managed)`,
    );
    expect(removeRuntime(edit.text, spec("node")).text).toBe(crlf);
  });

  it("indents like the runtimes beside it and inserts before the comments of the next section", () => {
    const text = addRuntime(fixture("commented.toml"), spec("node"), noContainerd).text;
    expect(text).toContain(
      '        pod_annotations = [ "dev.gvisor.*" ]\n      # BEGIN containerd-shim-node-v1 (managed)\n      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasm-node]\n        runtime_type = "io.containerd.node.v1"\n      # END containerd-shim-node-v1 (managed)\n\n      # Kata',
    );
  });
});
