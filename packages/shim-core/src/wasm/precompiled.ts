import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Engine, Prepared } from "./engine.ts";
import { ContainerdClient, DigestMismatch } from "../containerd/client.ts";
import type { Logger } from "../log.ts";
import type { Entrypoint } from "./entrypoint.ts";
import { shimVersion } from "../sea/version.ts";
import { precompileSecret } from "./precompile-key.ts";

/**
 * A Wasm layer's compiled form, kept in containerd's content store beside the layer, so that a
 * second container of the image compiles nothing. The layer's content carries the label
 * `containerd.io/gc.ref.content.wasm-shims.<engine>.<key>` = the blob's digest: containerd's GC
 * keeps the blob exactly as long as the layer, which lives as long as its image. What the blob
 * holds is the engine's (jco: the transpile output; empty for an engine that has none), inside
 * an envelope that names the engine, the compiler key and the layer, sealed with an HMAC whose key
 * only this node's shims hold: anything else is recompiled, never used.
 */
const MAGIC = Buffer.from("wasm-shims precompiled v1\n");
const MAC_BYTES = 32;
const LEASE_SECONDS = 24 * 60 * 60;

interface Envelope {
  engine: string;
  key: string;
  source: string;
}

/** What a compiled form depends on besides the module: engine, its compiler, Node/V8 and the CPU architecture. */
export function compilerKey(engine: Engine, shimVersion: string): string {
  const parts = [
    shimVersion,
    engine.name,
    engine.version,
    engine.precompileKey ?? "",
    process.version,
    process.versions.v8,
    process.arch,
  ];
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
}

export const precompiledLabel = (engine: string, key: string) =>
  `containerd.io/gc.ref.content.wasm-shims.${engine}.${key}`;

export function seal(envelope: Envelope, payload: Uint8Array, secret: Uint8Array): Uint8Array {
  const header = Buffer.from(JSON.stringify(envelope));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  const body = Buffer.concat([MAGIC, length, header, payload]);
  return Buffer.concat([body, createHmac("sha256", secret).update(body).digest()]);
}

/** The payload, or why the blob is not one this shim made for this layer and compiler. */
export function open(
  blob: Uint8Array,
  expected: Envelope,
  secret: Uint8Array,
): { payload: Uint8Array } | { refused: string } {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < MAGIC.length + 4 + MAC_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return { refused: "not a precompiled blob of this shim" };
  const body = bytes.subarray(0, bytes.length - MAC_BYTES);
  const mac = createHmac("sha256", secret).update(body).digest();
  if (!timingSafeEqual(mac, bytes.subarray(bytes.length - MAC_BYTES)))
    return { refused: "its seal does not match (tampered, or made by another node's shim)" };
  const headerLength = body.readUInt32BE(MAGIC.length);
  const header = JSON.parse(
    body.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength).toString("utf8"),
  ) as Envelope;
  for (const field of ["engine", "key", "source"] as const) {
    if (header[field] !== expected[field])
      return { refused: `it was made for ${field} ${header[field]}, not ${expected[field]}` };
  }
  return { payload: new Uint8Array(body.subarray(MAGIC.length + 4 + headerLength)) };
}

export interface PrecompileContext {
  engine: Engine;
  log: Logger;
}

/**
 * Runs `prepare` with the layer's trusted compiled form when the store has one (`undefined`
 * otherwise: then it must validate and compile), and stores what it compiled when it had none.
 * Only for a Wasm layer; a file of the rootfs has no place in the content store.
 */
export async function withPrecompiled(
  entry: Entrypoint,
  ctx: PrecompileContext,
  prepare: (precompiled: Uint8Array | undefined, wantsCompiled: boolean) => Promise<Prepared>,
): Promise<Prepared> {
  const layer = entry.layer;
  if (!layer?.store) return prepare(undefined, false);
  const client = new ContainerdClient(layer.store.socket, layer.store.namespace);
  const key = compilerKey(ctx.engine, shimVersion);
  const envelope: Envelope = { engine: ctx.engine.name, key, source: layer.digest };
  const label = precompiledLabel(ctx.engine.name, key);
  const fields = { layer: layer.digest, image: layer.image };
  let secret: Uint8Array;
  try {
    secret = await precompileSecret(ctx.engine.name);
  } catch (err) {
    ctx.log.warn("precompiled forms are off: no key to seal them with", { ...fields, error: (err as Error).message });
    return prepare(undefined, false);
  }
  const found = await load(client, layer.digest, label, envelope, secret, ctx.log, fields);
  const prepared = await prepare(found, found === undefined);
  const { compiled, ...rest } = prepared;
  if (found === undefined) {
    // After the answer to Create: storing is for the next container, not this one.
    void store(client, layer.digest, label, seal(envelope, compiled ?? new Uint8Array(), secret), ctx.engine.name)
      .then((digest) =>
        ctx.log.info("stored the precompiled form in containerd's content store", { ...fields, blob: digest }),
      )
      .catch((err: unknown) =>
        ctx.log.warn("cannot store the precompiled form", { ...fields, error: (err as Error).message }),
      );
  }
  return rest;
}

async function load(
  client: ContainerdClient,
  layer: string,
  label: string,
  envelope: Envelope,
  secret: Uint8Array,
  log: Logger,
  fields: Record<string, string>,
): Promise<Uint8Array | undefined> {
  let digest: string | undefined;
  try {
    digest = (await client.labels(layer))?.[label];
    if (!digest) return undefined;
    const opened = open(await client.readVerified(digest), envelope, secret);
    if ("refused" in opened) {
      log.warn(`precompiled blob ${digest} is not trusted: ${opened.refused}; compiling again`, fields);
      return undefined;
    }
    log.info("using the precompiled form from containerd's content store", { ...fields, blob: digest });
    return opened.payload;
  } catch (err) {
    const why = err instanceof DigestMismatch ? err.message : `cannot read it: ${(err as Error).message}`;
    log.warn(`precompiled blob ${digest ?? "(lookup)"} is not used: ${why}; compiling again`, fields);
    return undefined;
  }
}

/** Writes the blob under a lease, points the layer's label at it (which makes the GC keep it), then drops the lease. */
async function store(
  client: ContainerdClient,
  layer: string,
  label: string,
  blob: Uint8Array,
  engine: string,
): Promise<string> {
  const lease = await client.createLease(LEASE_SECONDS);
  try {
    const digest = await client.write(`wasm-shims-precompiled-${engine}-${layer}`, blob, lease);
    await client.setLabels(layer, { [label]: digest });
    return digest;
  } finally {
    await client.deleteLease(lease).catch(() => undefined);
  }
}
