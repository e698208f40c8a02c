import { isDeepStrictEqual } from "node:util";
import { parse, TomlError, type TomlTable } from "smol-toml";
import { chooseSchema, runtimesPath } from "./schema.ts";
import { findHeaders, formatKey, isBlankOrComment, startsWith, type Header } from "./toml-lines.ts";

export interface RuntimeSpec {
  /** containerd-shim-<engine>-v1: names the managed block. */
  binary: string;
  /** The CRI handler, wasm-<engine>. */
  handler: string;
  /** io.containerd.<engine>.v1 */
  runtimeType: string;
}

export interface Edit {
  text: string;
  changed: boolean;
  /** What happened, one line each, for the user. */
  notes: string[];
}

// Shared by every shim: added with the first block when the file had no version, removed with the last.
const VERSION_BLOCK = "containerd-shim config version";

const begin = (name: string) => `# BEGIN ${name} (managed)`;
const end = (name: string) => `# END ${name} (managed)`;

/** Parses or throws an error that says where. */
export function parseToml(text: string, what: string): TomlTable {
  try {
    return parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : "";
    throw new Error(
      `${what} is not valid TOML${where}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
}

/** Adds the runtime as a marked block, or replaces an earlier one; the same input always gives the same text. */
export function addRuntime(text: string, spec: RuntimeSpec, containerdVersion: () => string | undefined): Edit {
  parseToml(text, "the config");
  const stripped = removeBlocks(text, spec.binary);
  const doc = parseToml(stripped.text, "the config without our block");
  // A version this installer added earlier stands for the containerd it saw then; keep it.
  const earlier = stripped.version === undefined ? undefined : `${stripped.version === 3 ? 2 : 1}.0.0`;
  const choice = chooseSchema(doc, earlier === undefined ? containerdVersion : () => earlier);
  const path = [...runtimesPath(choice.schema), spec.handler];
  const existing = lookup(doc, path);
  if (existing !== undefined) {
    const type = (existing as TomlTable)["runtime_type"];
    if (type !== spec.runtimeType)
      throw new Error(
        `runtime ${spec.handler} is already configured with runtime_type ${JSON.stringify(type)}; remove it first`,
      );
    return {
      text,
      changed: false,
      notes: [`${spec.handler} is already configured (not by this installer); leaving it as it is`],
    };
  }
  const nl = text.includes("\r\n") ? "\r" : "";
  const lines = stripped.text.split("\n");
  if (choice.addVersion)
    lines.splice(
      firstContentLine(lines),
      0,
      ...[begin(VERSION_BLOCK), `version = ${choice.schema}`, end(VERSION_BLOCK)].map((l) => l + nl),
    );
  const headers = findHeaders(lines);
  const at = insertionPoint(lines, headers, runtimesPath(choice.schema));
  const indent = siblingIndent(headers, runtimesPath(choice.schema)) ?? at.indent;
  const header = `[${path.map((k) => formatKey(k, choice.schema === 3 ? "'" : '"')).join(".")}]`;
  const block = [begin(spec.binary), header, `  runtime_type = ${JSON.stringify(spec.runtimeType)}`, end(spec.binary)];
  if (stripped.block?.map((l) => l.trim()).join("\n") === block.map((l) => l.trim()).join("\n")) {
    return { text, changed: false, notes: [`${header} is already installed; nothing to change`] };
  }
  lines.splice(at.line, 0, ...block.map((l) => `${indent}${l}${nl}`));
  // A CR is only half a line end: none on a last line that has no LF after it.
  const result = lines.join("\n").replace(/\r$/, "");

  // The edit must mean exactly "the old document plus this runtime", whatever the file looked like.
  const expected = doc;
  setPath(expected, path, { runtime_type: spec.runtimeType });
  if (choice.addVersion) expected["version"] = choice.schema;
  // Invalid TOML too: a header cannot extend an inline table, and the user never wrote that error.
  let actual: TomlTable | undefined;
  try {
    actual = parse(result);
  } catch {
    actual = undefined;
  }
  if (!actual || !isDeepStrictEqual(plain(actual), plain(expected))) {
    throw new Error(
      `cannot add ${header} to this file without changing something else; add it by hand:\n  ${header}\n    runtime_type = ${JSON.stringify(spec.runtimeType)}`,
    );
  }
  const changed = result !== text;
  const notes = changed
    ? [`${stripped.removed ? "updated" : "added"} ${header} (schema version ${choice.schema}: ${choice.why})`]
    : [`${header} is already installed; nothing to change`];
  return { text: result, changed, notes };
}

/** Removes exactly the block addRuntime added (and the version block with the last one). */
export function removeRuntime(text: string, spec: RuntimeSpec): Edit {
  parseToml(text, "the config");
  const stripped = removeBlocks(text, spec.binary);
  if (!stripped.removed)
    return { text, changed: false, notes: [`no block managed by ${spec.binary} in the config; nothing to remove`] };
  parseToml(stripped.text, "the config without our block");
  return { text: stripped.text, changed: true, notes: [`removed the block managed by ${spec.binary}`] };
}

/** Our block, and the shared version block when no other shim's block is left. */
function removeBlocks(
  text: string,
  binary: string,
): { text: string; removed: boolean; block?: string[]; version?: number } {
  const lines = text.split("\n");
  const block = removeBlock(lines, binary);
  const removed = block !== undefined;
  const others = lines.some((l) => /^\s*# BEGIN containerd-shim-[^ ]+-v1 \(managed\)\s*$/.test(l));
  const versionBlock = removed && !others ? removeBlock(lines, VERSION_BLOCK) : undefined;
  const version = versionBlock?.map((l) => /^version = (\d)\r?$/.exec(l)?.[1]).find((v) => v !== undefined);
  return {
    text: lines.join("\n"),
    removed,
    ...(block ? { block } : {}),
    ...(version === undefined ? {} : { version: Number(version) }),
  };
}

/** Cuts the marked block out of `lines` and returns it. */
function removeBlock(lines: string[], name: string): string[] | undefined {
  const first = lines.findIndex((l) => l.trim() === begin(name));
  if (first < 0) return undefined;
  const last = lines.findIndex((l, i) => i > first && l.trim() === end(name));
  if (last < 0) throw new Error(`the config has "${begin(name)}" without "${end(name)}": fix it by hand`);
  return lines.splice(first, last - first + 1);
}

/**
 * After the runtimes already there, else at the end of the CRI containerd section, else of the
 * plugin's, else at the end of the file. Comments just above the next header belong to it, but
 * the END line of a block before ours does not.
 */
function insertionPoint(lines: string[], headers: Header[], runtimes: string[]): { line: number; indent: string } {
  const eof = lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
  for (const prefix of [runtimes, runtimes.slice(0, -1), runtimes.slice(0, 2)]) {
    const lastIndex = headers.findLastIndex((h) => startsWith(h.path, prefix));
    if (lastIndex < 0) continue;
    const last = headers[lastIndex]!;
    const next = headers[lastIndex + 1];
    if (!next) return { line: eof, indent: last.indent };
    let line = next.line;
    while (
      line - 1 > last.line &&
      isBlankOrComment(lines[line - 1]!) &&
      !/^\s*# END .* \(managed\)/.test(lines[line - 1]!)
    )
      line--;
    return { line, indent: last.indent };
  }
  return { line: eof, indent: "" };
}

function siblingIndent(headers: Header[], runtimes: string[]): string | undefined {
  return headers.findLast((h) => h.path.length === runtimes.length + 1 && startsWith(h.path, runtimes))?.indent;
}

/** Top-level keys must come before the first table, so before the first line that is not a comment. */
function firstContentLine(lines: string[]): number {
  const i = lines.findIndex((l) => !isBlankOrComment(l));
  return i < 0 ? (lines[lines.length - 1] === "" ? lines.length - 1 : lines.length) : i;
}

/** smol-toml's tables have no prototype and its dates are their own class: compare values only. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return `date:${value.toISOString()}`;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function lookup(doc: TomlTable, path: string[]): unknown {
  let node: unknown = doc;
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    node = (node as TomlTable)[key];
  }
  return node;
}

function setPath(doc: TomlTable, path: string[], value: TomlTable): void {
  let node = doc;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as TomlTable;
  node[path[path.length - 1]!] = value;
}
