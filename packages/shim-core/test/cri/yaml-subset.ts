/**
 * Parses the YAML that deploy/ uses: `---`-separated documents of block mappings and block
 * sequences, plain or double-quoted scalars, flow sequences of scalars, `#` comments. Anything
 * else (anchors, multi-line strings, flow mappings) throws, which keeps the manifests plain.
 */
type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
  no: number;
}

function scalar(raw: string, no: number): Value {
  const s = raw.trim();
  if (s.startsWith('"')) return JSON.parse(s) as string;
  if (s.startsWith("'")) {
    if (!s.endsWith("'")) throw new Error(`line ${no}: unterminated string`);
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (s.startsWith("[")) {
    if (!s.endsWith("]")) throw new Error(`line ${no}: flow sequence must end on its line`);
    const inner = s.slice(1, -1).trim();
    return inner === "" ? [] : (inner.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^,]+/g) ?? []).map((p) => scalar(p, no));
  }
  if (/^[&*!|>{]/.test(s)) throw new Error(`line ${no}: unsupported YAML: ${s}`);
  if (s === "" || s === "~" || s === "null") return null;
  if (s === "true" || s === "false") return s === "true";
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

function stripComment(text: string): string {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** `key: rest` with a plain key, or undefined if the text is not a mapping entry. */
function entry(text: string): [string, string] | undefined {
  const m = /^([A-Za-z0-9_./-]+):(?:\s+(.*))?$/.exec(text);
  return m ? [m[1]!, m[2] ?? ""] : undefined;
}

function block(lines: Line[], pos: { i: number }, indent: number): Value {
  const first = lines[pos.i]!;
  if (first.text.startsWith("- ") || first.text === "-") {
    const seq: Value[] = [];
    while (pos.i < lines.length && lines[pos.i]!.indent === indent && lines[pos.i]!.text.startsWith("-")) {
      const line = lines[pos.i]!;
      const rest = line.text.slice(1).trimStart();
      const inner = line.indent + (line.text.length - rest.length);
      if (rest === "") {
        pos.i++;
        seq.push(block(lines, pos, lines[pos.i]!.indent));
      } else if (entry(rest)) {
        // "- key: value" opens a mapping whose further keys align with `key`.
        lines[pos.i] = { indent: inner, text: rest, no: line.no };
        seq.push(block(lines, pos, inner));
      } else {
        seq.push(scalar(rest, line.no));
        pos.i++;
      }
    }
    return seq;
  }
  const map: { [key: string]: Value } = {};
  while (pos.i < lines.length && lines[pos.i]!.indent === indent) {
    const line = lines[pos.i]!;
    const kv = entry(line.text);
    if (!kv) throw new Error(`line ${line.no}: expected "key: value", got ${JSON.stringify(line.text)}`);
    const [key, rest] = kv;
    if (key in map) throw new Error(`line ${line.no}: duplicate key ${key}`);
    pos.i++;
    if (rest !== "") map[key] = scalar(rest, line.no);
    else if (
      pos.i < lines.length &&
      (lines[pos.i]!.indent > indent || (lines[pos.i]!.indent === indent && lines[pos.i]!.text.startsWith("-")))
    )
      map[key] = block(lines, pos, lines[pos.i]!.indent);
    else map[key] = null;
  }
  if (pos.i < lines.length && lines[pos.i]!.indent > indent)
    throw new Error(`line ${lines[pos.i]!.no}: unexpected indentation`);
  return map;
}

export function parseYamlDocuments(text: string): Value[] {
  const docs: Line[][] = [[]];
  text.split("\n").forEach((raw, n) => {
    if (raw.includes("\t")) throw new Error(`line ${n + 1}: tab in indentation`);
    const body = stripComment(raw);
    if (body.trim() === "") return;
    if (body === "---") return void docs.push([]);
    docs.at(-1)!.push({ indent: body.length - body.trimStart().length, text: body.trim(), no: n + 1 });
  });
  return docs
    .filter((d) => d.length > 0)
    .map((lines) => {
      const pos = { i: 0 };
      const value = block(lines, pos, lines[0]!.indent);
      if (pos.i < lines.length) throw new Error(`line ${lines[pos.i]!.no}: unexpected content`);
      return value;
    });
}
