import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  containerWasmImage,
  readWasmLayer,
  selectLayer,
  splitExport,
  type WasmImage,
  type WasmLayer,
} from "../containerd/artifacts.ts";
import { ContainerdClient } from "../containerd/client.ts";
import { Code, isShimError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { resolveEntrypoint, type Entrypoint } from "./entrypoint.ts";
import { CONTAINER_TYPE_ANNOTATION, type Spec } from "../oci/spec.ts";
import { LAYER_MODULE_FILE } from "./guest-entry.ts";

/** What Create learns of a container's image when its rootfs lacks the entrypoint. */
export interface FoundWasmImage {
  image: WasmImage;
  /** The layer's bytes, checked against its digest and size. */
  readLayer(layer: WasmLayer): Promise<Uint8Array<ArrayBuffer>>;
  /** containerd's socket and namespace, where the layer's precompiled form is kept (wasm/precompiled.ts). */
  store?: { socket: string; namespace: string };
}

/** The Wasm side of a container's image: its Wasm layers, from containerd's content API (unit tests fake it). */
export type WasmImageQuery = (containerId: string) => Promise<FoundWasmImage | undefined>;

/** The real query, on containerd's socket in one namespace (cli/daemon.ts hands it to Create). */
export function containerdWasmImage(socket: string, namespace: string): WasmImageQuery {
  return async (id) => {
    const client = new ContainerdClient(socket, namespace);
    const image = await containerWasmImage(client, id);
    return (
      image && { image, readLayer: (layer) => readWasmLayer(client, image.image, layer), store: { socket, namespace } }
    );
  };
}

/** The query for one container, asked at most once and only when needed. */
export type ImageLookup = () => ReturnType<WasmImageQuery>;

export function imageLookup(query: WasmImageQuery | undefined, id: string, spec: Spec): ImageLookup {
  let found: ReturnType<ImageLookup> | undefined;
  return () => {
    // A pod's sandbox is the pause image: not worth the round trips to containerd on every pod start.
    if (!query || spec.annotations?.[CONTAINER_TYPE_ANNOTATION] === "sandbox") return Promise.resolve(undefined);
    found ??= query(id);
    return found;
  };
}

/**
 * The container's entrypoint: a file argv[0] names in the rootfs (as before; `file#export`
 * selects an export), or else the image's Wasm layer (several: argv[0] picks one). Only when the
 * rootfs does not tell is containerd asked, so an ordinary Wasm image pays nothing.
 */
export async function resolveImageEntrypoint(
  rootfs: string,
  spec: Spec,
  saysWasm: () => Promise<boolean>,
  lookup: ImageLookup,
  log: Logger,
): Promise<Entrypoint> {
  const arg0 = spec.process?.args?.[0];
  let missing: unknown;
  try {
    return await resolveEntrypoint(rootfs, spec, saysWasm);
  } catch (err) {
    if (!isShimError(err, Code.NOT_FOUND) && arg0 !== undefined) throw err;
    missing = err;
  }
  const { name, exportName } = splitExport(arg0 ?? "");
  if (exportName) {
    try {
      const entry = await resolveEntrypoint(rootfs, { ...spec, process: { ...spec.process!, args: [name] } }, saysWasm);
      return { ...entry, exportName };
    } catch (err) {
      if (!isShimError(err, Code.NOT_FOUND)) throw err;
    }
  }
  let found: Awaited<ReturnType<ImageLookup>>;
  try {
    found = await lookup();
  } catch (err) {
    if (isShimError(err)) throw err;
    log.warn("cannot read the image's Wasm layers", { error: (err as Error).message });
    throw missing;
  }
  if (!found || found.image.layers.length === 0) throw missing;
  const img = found.image;
  const layer = selectLayer(img, arg0 === undefined ? undefined : name);
  const bytes = await found.readLayer(layer);
  const path = name.startsWith("/") ? name : `/${name || layer.title || "module.wasm"}`;
  log.info(`running Wasm layer ${layer.digest} (${layer.mediaType}) of image ${img.image}`, { entrypoint: path });
  return {
    kind: "wasm",
    path,
    hostPath: "",
    root: rootfs,
    layer: { ...layer, image: img.image, bytes, ...(found.store ? { store: found.store } : {}) },
    ...(exportName ? { exportName } : {}),
  };
}

/**
 * The layer's bytes as a file only the runner process holds: written to a private file that is
 * unlinked at once, and opened read-only. Each container gets its own copy, so writing it through
 * /proc would change nothing but that container's own module.
 */
export function layerModuleFd(bytes: Uint8Array): number {
  const dir = mkdtempSync(join(tmpdir(), "wasm-shim-layer-"));
  try {
    const file = join(dir, "module.wasm");
    writeFileSync(file, bytes, { mode: 0o400 });
    return openSync(file, "r");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The files one runner process is handed: what `prepare` named (opened by `openPrepared`) and,
 * for a Wasm layer, the module. The layer's bytes are dropped here: the runner has them now.
 */
export async function openRunnerFiles(
  prepared: Record<string, string> | undefined,
  entry: Entrypoint | undefined,
  openPrepared: (files: Record<string, string>) => Promise<Record<string, number>>,
): Promise<Record<string, number> | undefined> {
  const bytes = entry?.layer?.bytes;
  if (!bytes) return prepared ? openPrepared(prepared) : undefined;
  const fd = layerModuleFd(bytes);
  try {
    const files = prepared ? await openPrepared(prepared) : {};
    delete entry.layer!.bytes;
    return { ...files, [LAYER_MODULE_FILE]: fd };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
