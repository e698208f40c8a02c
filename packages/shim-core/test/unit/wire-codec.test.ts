// The shims' own codec (src/wire) against protobuf-es, for every message the generator wrote: the
// same bytes from the same value, the same value from those bytes, the same empty message.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, type DescMessage, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as wkt from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  create as createWire,
  decode,
  empty,
  encode,
  type WireMessage,
  type WireService,
} from "../../src/wire/codec.ts";

const gen = fileURLToPath(new URL("../../src/gen", import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
const load = async (paths: string[]) =>
  (await Promise.all(paths.map((p) => import(pathToFileURL(p).href)))).flatMap((m) => Object.values(m));

const wire = await load(files(join(gen, "wire")));
const tables = wire.filter((v): v is WireMessage => typeof (v as WireMessage)?.fields === "function");
const services = wire.filter((v): v is WireService => Array.isArray((v as WireService)?.methods));
const pb = [...(await load(files(gen).filter((p) => p.endsWith("_pb.ts")))), ...Object.values(wkt)];
const descs = new Map(
  pb.filter((v): v is DescMessage => (v as DescMessage)?.kind === "message").map((d) => [d.typeName, d]),
);
const pbServices = new Map(
  pb.filter((v): v is DescService => (v as DescService)?.kind === "service").map((d) => [d.typeName, d]),
);

/** A value for every field, none of them a default: two items in each list and map, three levels deep. */
function sample(desc: DescMessage, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of desc.fields) {
    const n = f.number;
    switch (f.fieldKind) {
      case "scalar":
        out[f.localName] = scalar(f.scalar, n);
        break;
      case "enum":
        out[f.localName] = f.enum.values.at(-1)!.number;
        break;
      case "message":
        if (depth < 3) out[f.localName] = sample(f.message, depth + 1);
        break;
      case "list":
        out[f.localName] =
          f.listKind === "message"
            ? depth < 3
              ? [sample(f.message, depth + 1), {}]
              : []
            : f.listKind === "enum"
              ? [0, f.enum.values.at(-1)!.number]
              : [scalar(f.scalar, n), scalar(f.scalar, n + 1)];
        break;
      case "map": {
        const keys = [scalar(f.mapKey, 1), scalar(f.mapKey, 2)].map(String);
        const value = () =>
          f.mapKind === "message"
            ? depth < 3
              ? sample(f.message, depth + 1)
              : {}
            : f.mapKind === "enum"
              ? 1
              : scalar(f.scalar, n);
        out[f.localName] = Object.fromEntries(keys.map((k) => [k, value()]));
        break;
      }
    }
  }
  return out;
}

function scalar(t: number, n: number): unknown {
  switch (t) {
    case 1:
      return -2.25 * n;
    case 2:
      return 1.5;
    case 3:
    case 16:
    case 18:
      return -(2n ** 40n) - BigInt(n);
    case 4:
    case 6:
      return 2n ** 63n + BigInt(n);
    case 8:
      return n % 2 === 1;
    case 9:
      return `s${n}·ü`;
    case 12:
      return new Uint8Array([n, 0, 255]);
    case 13:
    case 7:
      return 4_000_000_000 + n;
    default:
      return -n - 1;
  }
}

describe("the generated wire codec", () => {
  it("covers every message the shims use, and each has its protobuf-es twin", () => {
    expect(tables.length).toBeGreaterThan(100);
    expect(tables.filter((t) => !descs.has(t.typeName)).map((t) => t.typeName)).toEqual([]);
  });

  it.each(tables.map((t) => [t.typeName, t] as const))("%s: same bytes and value as protobuf-es", (name, table) => {
    const desc = descs.get(name)!;
    const value = sample(desc);
    const bytes = toBinary(desc, create(desc, value));
    expect(encode(table, value as never)).toEqual(bytes);
    expect(decode(table, bytes)).toEqual(fromBinary(desc, bytes));
    expect(empty(table)).toEqual(create(desc));
    expect(createWire(table, value as never)).toEqual(create(desc, value));
    expect(decode(table, new Uint8Array(0))).toEqual(create(desc));
    // A cut frame is refused, as protobuf-es refuses it (ttrpc answers INVALID_ARGUMENT).
    if (bytes.length > 0) {
      const cut = bytes.subarray(0, bytes.length - 1);
      expect(() => fromBinary(desc, cut)).toThrow();
      expect(() => decode(table, cut)).toThrow();
    }
  });

  it("skips fields it does not know, and merges a message field sent twice", () => {
    const mount = tables.find((t) => t.typeName === "containerd.types.Mount")!;
    const req = tables.find((t) => t.typeName === "containerd.task.v2.CreateTaskRequest")!;
    const w = new BinaryWriter();
    w.tag(99, WireType.Varint).uint32(7).tag(98, WireType.LengthDelimited).string("x");
    const first = encode(req, { id: "a", options: { typeUrl: "t" } } as never);
    const second = encode(req, { options: { value: new Uint8Array([1]) } } as never);
    const got = decode(req, new Uint8Array([...w.finish(), ...first, ...second])) as Record<string, unknown>;
    expect(got.id).toBe("a");
    expect(got.options).toMatchObject({ typeUrl: "t", value: new Uint8Array([1]) });
    // Mount.type (1) as 0xff 0xfe: not UTF-8, refused as protobuf-es refuses it.
    const bad = Uint8Array.of(0x0a, 0x02, 0xff, 0xfe);
    expect(() => fromBinary(descs.get(mount.typeName)!, bad)).toThrow(/utf-8/i);
    expect(() => decode(mount, bad)).toThrow(/utf-8/i);
    expect(decode(mount, encode(mount, { type: "bind", options: ["ro"] } as never))).toMatchObject({
      type: "bind",
      options: ["ro"],
    });
  });

  it("lists each service's methods as protobuf-es does", () => {
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      const desc = pbServices.get(s.typeName)!;
      expect(s.methods.map((m) => [m.name, m.localName, m.kind, m.input.typeName, m.output.typeName])).toEqual(
        desc.methods.map((m) => [m.name, m.localName, m.methodKind, m.input.typeName, m.output.typeName]),
      );
    }
  });
});
