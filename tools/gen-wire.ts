// Writes packages/shim-core/src/gen/wire: for every protobuf-es file the shims use, its messages as
// field tables for the shims' own codec (shim-core/src/wire/codec.ts), its enums as constants and
// its services as method tables. The protobuf-es code stays for its types; at run time a daemon
// then loads no descriptors: building protobuf-es's registry for the Task API took a daemon's boot
// about 50 ms (tools/generate.mjs runs this after buf).
//
//   node --experimental-transform-types tools/gen-wire.ts [OUTPUT_ROOT]
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DescEnum, DescField, DescFile, DescMessage } from "@bufbuild/protobuf";
import * as wkt from "@bufbuild/protobuf/wkt";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pbRoot = join(root, "packages/shim-core/src/gen");
const outRoot = process.argv[2] ?? root;
const wireDir = join(outRoot, "packages/shim-core/src/gen/wire");

interface Source {
  /** How a generated file imports the protobuf-es module, relative to gen/wire. */
  module: string;
  /** Where the generated file goes, relative to gen/wire, without ".ts". */
  out: string;
  exports: Record<string, unknown>;
}

const pbFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === "wire" ? [] : pbFiles(p);
    return n.endsWith("_pb.ts") ? [p] : [];
  });

const sources = new Map<DescFile, Source>();
for (const path of pbFiles(pbRoot).sort()) {
  const exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const rel = relative(pbRoot, path).replace(/_pb\.ts$/, "");
  for (const value of Object.values(exports))
    if (isFile(value)) sources.set(value, { module: `../${relative(pbRoot, path)}`, out: rel, exports });
}
// The well-known types the files use come from protobuf-es itself.
const wktExports = wkt as unknown as Record<string, unknown>;
for (const value of Object.values(wktExports))
  if (isFile(value)) {
    sources.set(value, { module: "@bufbuild/protobuf/wkt", out: value.name, exports: wktExports });
  }

function isFile(v: unknown): v is DescFile {
  return typeof v === "object" && v !== null && (v as DescFile).kind === "file";
}

/** The export of `src` whose value is `desc` (protobuf-es names nested and clashing ones its own way). */
function exportName(src: Source, desc: object): string {
  const found = Object.entries(src.exports).find(([, v]) => v === desc);
  if (!found) throw new Error(`no export for ${(desc as { typeName?: string }).typeName}`);
  return found[0];
}

const used = new Set<DescFile>();
/** Files reachable from the shims' own. */
function reach(file: DescFile): void {
  if (used.has(file)) return;
  used.add(file);
  for (const dep of file.dependencies) if (sources.has(dep)) reach(dep);
}
for (const [file, src] of sources) if (src.module !== "@bufbuild/protobuf/wkt") reach(file);

const allMessages = (ms: readonly DescMessage[]): DescMessage[] =>
  ms.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
const allEnums = (file: DescFile): DescEnum[] => [
  ...file.enums,
  ...allMessages(file.messages).flatMap((m) => m.nestedEnums),
];

const SCALAR_NAMES: Record<number, string> = {
  1: "DOUBLE",
  2: "FLOAT",
  3: "INT64",
  4: "UINT64",
  5: "INT32",
  6: "FIXED64",
  7: "FIXED32",
  8: "BOOL",
  9: "STRING",
  12: "BYTES",
  13: "UINT32",
  15: "SFIXED32",
  16: "SFIXED64",
  17: "SINT32",
  18: "SINT64",
};
const scalar = (t: number) => `T.${SCALAR_NAMES[t] ?? fail(`scalar type ${t}`)}`;

function fail(what: string): never {
  throw new Error(`gen-wire: ${what} is not supported by shim-core/src/wire/codec.ts`);
}

function generate(file: DescFile): string {
  const src = sources.get(file)!;
  const here = dirname(src.out);
  const typeImports = new Map<string, Set<string>>();
  const valueImports = new Map<string, Set<string>>();
  const add = (map: Map<string, Set<string>>, module: string, name: string) =>
    map.set(module, (map.get(module) ?? new Set()).add(name));
  const pbModule = (s: Source) => (s.module.startsWith("@") ? s.module : relPath(here, s.module));
  /** A reference to another message's table, imported if it lives in another file. */
  const table = (m: DescMessage): string => {
    const s = sources.get(m.file) ?? fail(`message ${m.typeName} from an unknown file`);
    const name = exportName(s, m);
    if (m.file !== file) add(valueImports, relPath(here, `${s.out}.ts`), name);
    return name;
  };
  const ref = (m: DescMessage): string => `() => ${table(m)}`;
  const field = (f: DescField): string => {
    if (f.oneof) fail(`oneof ${f.oneof.name} in ${f.parent.typeName}`);
    // 1: explicit (proto3 `optional`), 2: implicit.
    const optional = (f.fieldKind === "scalar" || f.fieldKind === "enum") && f.presence === 1;
    if (f.presence !== 2 && f.presence !== 1) fail(`field presence ${f.presence} (${f.parent.typeName}.${f.name})`);
    if ((f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar")) && f.longAsString)
      fail(`jstype string (${f.parent.typeName}.${f.name})`);
    if ("delimitedEncoding" in f && f.delimitedEncoding) fail(`group encoding (${f.parent.typeName}.${f.name})`);
    const head = `${f.number}, ${JSON.stringify(f.localName)}`;
    switch (f.fieldKind) {
      case "scalar":
        return `[${head}, ${scalar(f.scalar)}${optional ? ", L.OPTIONAL" : ""}]`;
      case "enum":
        return `[${head}, T.INT32${optional ? ", L.OPTIONAL" : ""}]`;
      case "message":
        return `[${head}, ${ref(f.message)}]`;
      case "list": {
        const item = f.listKind === "message" ? ref(f.message) : f.listKind === "enum" ? "T.INT32" : scalar(f.scalar);
        return `[${head}, ${item}, ${f.packed ? "L.PACKED" : "L.REPEATED"}]`;
      }
      case "map": {
        const value = f.mapKind === "message" ? ref(f.message) : f.mapKind === "enum" ? "T.INT32" : scalar(f.scalar);
        return `[${head}, ${value}, L.MAP, ${scalar(f.mapKey)}]`;
      }
    }
  };
  const body: string[] = [];
  for (const e of allEnums(file)) {
    const schemaName = exportName(src, e);
    const name = schemaName.replace(/Schema$/, "");
    if (!(name in src.exports)) fail(`enum ${e.typeName} without its TypeScript enum`);
    const values = e.values.map((v) => `  ${v.localName}: ${v.number},`).join("\n");
    body.push(`export const ${name} = {\n${values}\n} as const;`);
  }
  for (const m of allMessages(file.messages)) {
    const name = exportName(src, m);
    add(typeImports, pbModule(src), name);
    const fields = m.fields.map((f) => `  ${field(f)},`).join("\n");
    body.push(
      `export const ${name}: WireMessage<typeof ${name}Desc> = message(${JSON.stringify(m.typeName)}, () => [\n${fields}\n]);`,
    );
  }
  for (const s of file.services) {
    const name = exportName(src, s);
    add(typeImports, pbModule(src), name);
    const methods = s.methods.map(
      (m) =>
        `  { name: ${JSON.stringify(m.name)}, localName: ${JSON.stringify(m.localName)}, kind: ${JSON.stringify(m.methodKind)}, input: ${table(m.input)}, output: ${table(m.output)} },`,
    );
    body.push(
      `export const ${name}: WireService<typeof ${name}Desc> = {\n  typeName: ${JSON.stringify(s.typeName)},\n  methods: [\n${methods.join("\n")}\n  ],\n};`,
    );
  }
  const text = body.join("\n\n");
  const codec = [
    ["L", /\bL\./],
    ["message", /= message\(/],
    ["T", /\bT\./],
    ["type WireMessage", /WireMessage</],
    ["type WireService", /WireService</],
  ]
    .filter(([, used]) => (used as RegExp).test(text))
    .map(([name]) => name);
  const imports = [
    `import { ${codec.join(", ")} } from "${relPath(here, "../../wire/codec.ts")}";`,
    ...[...typeImports].map(
      ([module, names]) =>
        `import type { ${[...names]
          .sort()
          .map((n) => `${n} as ${n}Desc`)
          .join(", ")} } from "${module}";`,
    ),
    ...[...valueImports].map(([module, names]) => `import { ${[...names].sort().join(", ")} } from "${module}";`),
  ];
  return [
    `// Generated by tools/gen-wire.ts from ${file.name}.proto's protobuf-es code: do not edit.`,
    ...imports,
    "",
    text,
    "",
  ].join("\n");
}

/** A relative import from the generated file in `fromDir` to `target` (both relative to gen/wire). */
function relPath(fromDir: string, target: string): string {
  const r = relative(fromDir, target);
  return r.startsWith(".") ? r : `./${r}`;
}

rmSync(wireDir, { recursive: true, force: true });
for (const file of used) {
  const out = join(wireDir, `${sources.get(file)!.out}.ts`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, generate(file));
}
console.log(`gen-wire: ${used.size} files in ${relative(outRoot, wireDir)}`);
