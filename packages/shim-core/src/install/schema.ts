import type { TomlTable } from "smol-toml";

/** config.toml's `version`: 1 (no key; containerd 1.x's old layout), 2 (1.x), 3 (2.x). */
export type Schema = 1 | 2 | 3;

/** Where the CRI plugin keeps its runtimes in each schema. */
export function runtimesPath(schema: Schema): string[] {
  const plugin = { 1: "cri", 2: "io.containerd.grpc.v1.cri", 3: "io.containerd.cri.v1.runtime" }[schema];
  return ["plugins", plugin, "containerd", "runtimes"];
}

export interface SchemaChoice {
  schema: Schema;
  /** The file says nothing yet, so `version = N` must be added for the section to mean what we want. */
  addVersion: boolean;
  why: string;
}

/**
 * The file's own `version` wins: containerd 2.x migrates 2 to 3 when it loads, so a version 2
 * section is right even there. Without one, containerd reads the file as version 1; that only
 * matters when the file already has plugin sections, otherwise we add the version of the
 * containerd in use.
 */
export function chooseSchema(doc: TomlTable, containerdVersion: () => string | undefined): SchemaChoice {
  const version = doc["version"];
  if (version !== undefined) {
    if (version === 1 || version === 2 || version === 3)
      return { schema: version, addVersion: false, why: `the file says version = ${version}` };
    throw new Error(`unsupported config version ${JSON.stringify(version)} (this installer knows 1, 2 and 3)`);
  }
  if (doc["plugins"] !== undefined) {
    return {
      schema: 1,
      addVersion: false,
      why: "the file has plugin sections but no version, which containerd reads as version 1",
    };
  }
  const text = containerdVersion();
  if (text === undefined) {
    throw new Error(
      "the file has no `version = N` and containerd was not found on PATH: pass --containerd-version (e.g. 1.7.27 or 2.1.0)",
    );
  }
  const major = containerdMajor(text);
  if (major === undefined)
    throw new Error(`cannot find a version number in ${JSON.stringify(text.trim())}: pass --containerd-version`);
  const schema = major >= 2 ? 3 : 2;
  return { schema, addVersion: true, why: `the file has no version and containerd is ${major}.x` };
}

/**
 * The major version from `containerd --version`, which prints e.g.
 * "containerd github.com/containerd/containerd/v2 v2.1.0 <commit>",
 * "containerd containerd.io 1.7.27 <commit>" or, on Debian, "containerd … 1.6.20~ds1 1.6.20~ds1-1".
 * A bare "2.1.0" (as given to --containerd-version) works too.
 */
export function containerdMajor(text: string): number | undefined {
  for (const word of text.trim().split(/\s+/)) {
    const m = /^v?(\d+)\.(\d+)(\.\d+)?([-~+.].*)?$/.exec(word);
    if (m) return Number(m[1]);
  }
  return undefined;
}
