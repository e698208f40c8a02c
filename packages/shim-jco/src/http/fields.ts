/**
 * wasi:http/types `fields` (headers and trailers). Names keep their case and order, repeated
 * names stay separate entries, and values are bytes: what a client sent is what the guest sees,
 * and what the guest sets is what the client gets.
 */
type Entry = [name: string, value: Uint8Array];
export type HeaderError = { tag: "invalid-syntax" | "forbidden" | "immutable" };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Hop-by-hop and connection-level headers that the server owns (the list wasmtime forbids). */
export const FORBIDDEN = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "host",
  "http2-settings",
]);

function validValue(value: Uint8Array): boolean {
  for (const b of value) if ((b < 0x20 && b !== 0x09) || b === 0x7f) return false;
  return true;
}

function check(name: string, values: Uint8Array[]): void {
  if (typeof name !== "string" || !TOKEN.test(name) || !values.every((v) => v instanceof Uint8Array && validValue(v)))
    throw { tag: "invalid-syntax" } satisfies HeaderError;
  if (FORBIDDEN.has(name.toLowerCase())) throw { tag: "forbidden" } satisfies HeaderError;
}

export class Fields {
  #entries: Entry[] = [];
  #immutable = false;

  static fromList(entries: [string, Uint8Array][]): Fields {
    const fields = new Fields();
    for (const [name, value] of entries) check(name, [value]);
    fields.#entries = entries.map(([n, v]) => [n, v.slice()]);
    return fields;
  }

  /** Host-made fields (a request's headers as received), already filtered; immutable. */
  static received(entries: Entry[]): Fields {
    const fields = new Fields();
    fields.#entries = entries;
    fields.#immutable = true;
    return fields;
  }

  /** Headers handed to a request or response become immutable, as WASI says. */
  static lock(fields: Fields): Fields {
    fields.#immutable = true;
    return fields;
  }

  get(name: string): Uint8Array[] {
    const key = name.toLowerCase();
    return this.#entries.filter(([n]) => n.toLowerCase() === key).map(([, v]) => v.slice());
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    return this.#entries.some(([n]) => n.toLowerCase() === key);
  }

  set(name: string, values: Uint8Array[]): void {
    this.#mutable();
    check(name, values);
    const key = name.toLowerCase();
    const at = this.#entries.findIndex(([n]) => n.toLowerCase() === key);
    const rest = this.#entries.filter(([n]) => n.toLowerCase() !== key);
    const added = values.map((v): Entry => [name, v.slice()]);
    // The new values take the place of the first old one, so order elsewhere is kept.
    rest.splice(at < 0 ? rest.length : Math.min(at, rest.length), 0, ...added);
    this.#entries = rest;
  }

  delete(name: string): void {
    this.#mutable();
    check(name, []);
    const key = name.toLowerCase();
    this.#entries = this.#entries.filter(([n]) => n.toLowerCase() !== key);
  }

  append(name: string, value: Uint8Array): void {
    this.#mutable();
    check(name, [value]);
    this.#entries.push([name, value.slice()]);
  }

  entries(): [string, Uint8Array][] {
    return this.#entries.map(([n, v]) => [n, v.slice()]);
  }

  clone(): Fields {
    const fields = new Fields();
    fields.#entries = this.#entries.map(([n, v]) => [n, v]);
    return fields;
  }

  /** For the server: entries without copies, to write a response head. */
  raw(): readonly Entry[] {
    return this.#entries;
  }

  #mutable(): void {
    if (this.#immutable) throw { tag: "immutable" } satisfies HeaderError;
  }
}

/** Node's raw header list ([name, value, name, value…]) as fields, minus what the server owns. */
export function fromRawHeaders(raw: string[]): Fields {
  const entries: Entry[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (FORBIDDEN.has(name.toLowerCase())) continue;
    entries.push([name, Buffer.from(raw[i + 1]!, "latin1")]);
  }
  return Fields.received(entries);
}

/**
 * Fields as Node's flat header array, values byte for byte: Node's latin1 maps each byte to the
 * code point of the same number (TextDecoder's "latin1" is windows-1252, which does not).
 */
export function toRawHeaders(fields: Fields): string[] {
  const out: string[] = [];
  for (const [name, value] of fields.raw())
    out.push(name, Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1"));
  return out;
}
