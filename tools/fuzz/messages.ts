/**
 * Random but well-formed Task requests, built by walking each request's protobuf descriptor. Strings
 * come from corpora chosen by field name (ids the daemon knows, bundles that exist, stdio paths,
 * rootfs mounts), so requests get past the first lookup and reach the code behind it.
 */
import { create, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { Task } from "@wasm-shims/shim-core/src/gen/containerd/task/v2/shim_pb.ts";
import { OptionsSchema as RuncOptionsSchema } from "@wasm-shims/shim-core/src/gen/containerd/runc/v1/options_pb.ts";
import { OptionsSchema as RuntimeOptionsSchema } from "@wasm-shims/shim-core/src/gen/runtimeoptions/v1/options_pb.ts";
import type { Rng } from "./rng.ts";

/** What requests may name. Every path here is inside the fuzzer's own directory or harmless to open. */
export interface Corpus {
  ids: () => string[];
  bundles: () => string[];
  stdio: string[];
  mountSources: string[];
  mountTargets: string[];
  /** Files the runtime options may point at (including /dev/zero and a FIFO nobody writes). */
  optionFiles: string[];
  /** Directories a runc root may be put in. */
  scratch: string[];
}

export const taskMethods = Task.methods.map((m) => ({ name: m.name, input: m.input }));

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_./:=, \u00e9\u4e2d\n\t\0\\\"'$%";

/** Bytes of huge strings still allowed in the request being built, so it stays under ttrpc's 4 MiB. */
let hugeBudget = 0;

function randomString(rng: Rng): string {
  switch (rng.int(8)) {
    case 0:
      return "";
    case 1: {
      const n = Math.min(hugeBudget, rng.pick([1 << 10, 1 << 16, 1 << 20, 3 << 20]));
      hugeBudget -= n;
      return "x".repeat(n);
    }
    case 2:
      return rng.pick([
        "..",
        "../../../../..",
        "/",
        "-rf",
        "--help",
        "-a",
        "%s%n",
        "${PATH}",
        "a/b",
        "\u0000",
        " ",
        "\ud800",
        "é".repeat(1000),
      ]);
    default: {
      let s = "";
      for (let i = 0, n = rng.size(40); i < n; i++) s += alphabet[rng.int(alphabet.length)];
      return s;
    }
  }
}

const mountTypes = [
  "bind",
  "rbind",
  "overlay",
  "tmpfs",
  "proc",
  "ext4",
  "none",
  "",
  "nfs",
  "-o",
  "fuse.sshfs",
  "../bind",
  "x".repeat(300),
];
const mountOptions = [
  "rbind",
  "bind",
  "ro",
  "rw",
  "rprivate",
  "nosuid",
  "loop",
  "remount",
  "X-mount.mkdir",
  "x-systemd.automount",
  "helper=foo",
  "offset=0",
  "move",
  "a,b",
  "upperdir=/nonexistent",
  "lowerdir=/nonexistent",
  "workdir=/tmp",
  "index=off",
  "userxattr",
  "",
];

function stringFor(rng: Rng, field: DescField, parent: DescMessage, corpus: Corpus): string {
  if (rng.chance(0.15)) return randomString(rng);
  const name = field.localName;
  if (parent.typeName === "containerd.types.Mount") {
    if (name === "type") return rng.pick(mountTypes);
    if (name === "source") return rng.pick(corpus.mountSources);
    if (name === "target") return rng.pick(corpus.mountTargets);
    return rng.pick(mountOptions);
  }
  if (name === "id" || name === "execId") {
    const ids = corpus.ids();
    return ids.length > 0 && rng.chance(0.8) ? rng.pick(ids) : `fz${rng.int(1000)}`;
  }
  if (name === "bundle")
    return rng.chance(0.7)
      ? rng.pick(corpus.bundles())
      : rng.pick(["", "/", "relative", "/nonexistent", ...corpus.scratch]);
  if (name === "stdin" || name === "stdout" || name === "stderr") return rng.pick(corpus.stdio);
  if (name === "checkpoint" || name === "parentCheckpoint" || name === "path")
    return rng.chance(0.7) ? "" : randomString(rng);
  return randomString(rng);
}

function scalar(rng: Rng, field: DescField & { scalar: ScalarType }, parent: DescMessage, corpus: Corpus): unknown {
  switch (field.scalar) {
    case ScalarType.STRING:
      return stringFor(rng, field, parent, corpus);
    case ScalarType.BYTES:
      return rng.bytes(rng.size(256));
    case ScalarType.BOOL:
      return rng.chance(0.3);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, -1, 1e308, Number.NaN, Number.POSITIVE_INFINITY, rng.next()]);
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64: {
      const v = BigInt(rng.u32()) * BigInt(rng.u32());
      return field.scalar === ScalarType.UINT64 || field.scalar === ScalarType.FIXED64 ? v : BigInt.asIntN(64, v);
    }
    default: {
      // Signals, sizes, uids: the edges matter most.
      const v = rng.pick([0, 1, 9, 15, 19, 64, 65, 255, 0x7fffffff, 0xffffffff, rng.u32()]);
      const signed =
        field.scalar === ScalarType.INT32 || field.scalar === ScalarType.SINT32 || field.scalar === ScalarType.SFIXED32;
      return signed ? v | 0 : v >>> 0;
    }
  }
}

/** JSON an exec or update might carry: sometimes a plausible object, sometimes anything but. */
function randomJson(rng: Rng, kind: "process" | "resources"): string {
  const choices: unknown[] =
    kind === "process"
      ? [
          { args: ["/bin/busybox", "true"], cwd: "/", env: ["PATH=/bin"] },
          { args: [], cwd: "/" },
          { args: ["/nonexistent"], cwd: "relative" },
          { args: ["/bin/busybox", "sleep", "1"], cwd: "/", user: { uid: -1, gid: 1e12 } },
          { args: "not a list", env: 5 },
          { args: ["/hello.wasm"], cwd: "/", env: ["PATH=/bin"] },
          null,
          [],
          "string",
          42,
        ]
      : [
          { memory: { limit: 1 } },
          { memory: { limit: -5 } },
          { cpu: { shares: 1e18 } },
          { pids: { limit: 0 } },
          null,
          [],
          {},
        ];
  if (rng.chance(0.15)) return "{not json";
  return JSON.stringify(rng.pick(choices));
}

function anyValue(rng: Rng, field: DescField, corpus: Corpus): { typeUrl: string; value: Uint8Array } {
  switch (rng.int(5)) {
    case 0: {
      const o = create(RuncOptionsSchema, {
        binaryName: rng.pick(["", "runc", "/nonexistent/runc", "relative-runc"]),
        root: rng.chance(0.5) ? "" : rng.pick(corpus.scratch),
        systemdCgroup: rng.chance(0.2),
        noPivotRoot: rng.chance(0.2),
      });
      return {
        typeUrl: "containerd.runc.v1.Options",
        value: rng.chance(0.2) ? rng.bytes(rng.size(64)) : toBinary(RuncOptionsSchema, o),
      };
    }
    case 1: {
      const o = create(RuntimeOptionsSchema, {
        configPath: rng.chance(0.5) ? "" : rng.pick(corpus.optionFiles),
        configBody: new TextEncoder().encode(
          rng.pick([
            "",
            "SystemdCgroup = true",
            'BinaryName = "/nonexistent/runc"',
            "Root = 5",
            "[[[",
            "x".repeat(1 << 16),
          ]),
        ),
      });
      return {
        typeUrl: "runtimeoptions.v1.Options",
        value: rng.chance(0.2) ? rng.bytes(rng.size(64)) : toBinary(RuntimeOptionsSchema, o),
      };
    }
    case 2:
      return {
        typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
        value: new TextEncoder().encode(randomJson(rng, "process")),
      };
    case 3:
      return {
        typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
        value: new TextEncoder().encode(randomJson(rng, "resources")),
      };
    default:
      return { typeUrl: field.localName === "spec" ? "" : randomString(rng), value: rng.bytes(rng.size(128)) };
  }
}

function message(rng: Rng, desc: DescMessage, corpus: Corpus, depth: number): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of desc.fields) {
    if (rng.chance(0.25)) continue;
    const value = fieldValue(rng, field, desc, corpus, depth);
    if (value !== undefined) init[field.localName] = value;
  }
  return init;
}

function fieldValue(rng: Rng, field: DescField, parent: DescMessage, corpus: Corpus, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(rng, field, parent, corpus);
    case "enum":
      return rng.pick([...field.enum.values.map((v) => v.number), 99, -1]);
    case "message":
      if (field.message.typeName === "google.protobuf.Any") return anyValue(rng, field, corpus);
      return depth > 3 ? undefined : message(rng, field.message, corpus, depth + 1);
    case "list": {
      const n = rng.chance(0.05) ? 200 : rng.int(4);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (field.listKind === "scalar")
          items.push(scalar(rng, field as DescField & { scalar: ScalarType }, parent, corpus));
        else if (field.listKind === "enum") items.push(rng.pick(field.enum.values).number);
        else if (depth <= 3) items.push(message(rng, field.message, corpus, depth + 1));
      }
      return items;
    }
    case "map": {
      const out: Record<string, string> = {};
      for (let i = 0, n = rng.int(4); i < n; i++) out[randomString(rng).slice(0, 64)] = randomString(rng).slice(0, 256);
      return out;
    }
  }
}

/** A random request for a random Task method, encoded. */
export function randomRequest(rng: Rng, corpus: Corpus): { method: string; payload: Uint8Array } {
  const m = rng.pick(taskMethods);
  hugeBudget = 3 << 20;
  const payload = toBinary(m.input, create(m.input, message(rng, m.input, corpus, 0) as never));
  return { method: m.name, payload };
}
