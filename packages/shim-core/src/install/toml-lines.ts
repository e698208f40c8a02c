// Just enough of TOML's lexical grammar to find table headers in a config.toml by line, so the
// installer can edit the text in place: re-serializing the document would drop comments, order
// and formatting that the file's owner chose. Whatever this gets wrong is caught afterwards,
// because every edit is checked against a real parser (see config-edit.ts).

export interface Header {
  /** Index into the file's lines. */
  line: number;
  /** The key path with quotes resolved: [a."b.c".d] is ["a", "b.c", "d"]. */
  path: string[];
  /** [[array of tables]] */
  array: boolean;
  indent: string;
}

type Mode = "none" | "basic" | "literal";

const bareKey = /^[A-Za-z0-9_-]+/;

/** Table headers, skipping lines inside multi-line strings and multi-line arrays. */
export function findHeaders(lines: readonly string[]): Header[] {
  const headers: Header[] = [];
  let multiline: Mode = "none";
  let depth = 0;
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    if (multiline === "none" && depth === 0 && /^\s*\[/.test(line)) {
      const header = parseHeader(line);
      if (header) {
        headers.push({ ...header, line: index, indent: /^\s*/.exec(line)![0] });
        return;
      }
    }
    ({ multiline, depth } = scanValueLine(line, multiline, depth));
  });
  return headers;
}

/** Follows strings, comments and brackets through one line of keys and values. */
function scanValueLine(line: string, mode: Mode, depth: number): { multiline: Mode; depth: number } {
  let i = 0;
  while (i < line.length) {
    if (mode !== "none") {
      const close = mode === "basic" ? '"""' : "'''";
      const end = findClose(line, i, close, mode === "basic");
      if (end < 0) return { multiline: mode, depth };
      i = end + 3;
      while (line[i] === close[0]) i++; // up to two quotes may end the string's content
      mode = "none";
      continue;
    }
    const c = line[i]!;
    if (c === "#") break;
    if (line.startsWith('"""', i) || line.startsWith("'''", i)) {
      mode = c === '"' ? "basic" : "literal";
      i += 3;
    } else if (c === '"' || c === "'") {
      const end = findClose(line, i + 1, c, c === '"');
      i = end < 0 ? line.length : end + 1;
    } else {
      if (c === "[") depth++;
      else if (c === "]" && depth > 0) depth--;
      i++;
    }
  }
  return { multiline: "none", depth };
}

function findClose(line: string, from: number, close: string, escapes: boolean): number {
  for (let i = from; i < line.length; i++) {
    if (escapes && line[i] === "\\") i++;
    else if (line.startsWith(close, i)) return i;
  }
  return -1;
}

/** `[a.b]` or `[[a.b]]` with an optional comment, or undefined when the line is not a header. */
export function parseHeader(line: string): { path: string[]; array: boolean } | undefined {
  let rest = line.trim();
  const array = rest.startsWith("[[");
  rest = rest.slice(array ? 2 : 1);
  const path: string[] = [];
  for (;;) {
    rest = rest.trimStart();
    const key = readKey(rest);
    if (!key) return undefined;
    path.push(key.value);
    rest = rest.slice(key.length).trimStart();
    if (rest.startsWith(".")) {
      rest = rest.slice(1);
      continue;
    }
    const close = array ? "]]" : "]";
    if (!rest.startsWith(close)) return undefined;
    rest = rest.slice(close.length).trim();
    return rest === "" || rest.startsWith("#") ? { path, array } : undefined;
  }
}

function readKey(text: string): { value: string; length: number } | undefined {
  const bare = bareKey.exec(text);
  if (bare) return { value: bare[0], length: bare[0].length };
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    return end < 0 ? undefined : { value: text.slice(1, end), length: end + 1 };
  }
  if (text.startsWith('"')) {
    const end = findClose(text, 1, '"', true);
    if (end < 0) return undefined;
    try {
      return { value: JSON.parse(text.slice(0, end + 1)) as string, length: end + 1 };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A key as TOML wants it written: bare when it can be, otherwise in the given quotes. */
export function formatKey(key: string, quote: '"' | "'"): string {
  if (/^[A-Za-z0-9_-]+$/.test(key)) return key;
  return quote === "'" && !key.includes("'") ? `'${key}'` : JSON.stringify(key);
}

export const isBlankOrComment = (line: string): boolean => /^\s*(#.*)?\r?$/.test(line);

export const startsWith = (path: readonly string[], prefix: readonly string[]): boolean =>
  prefix.length <= path.length && prefix.every((k, i) => path[i] === k);
