import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostFailure, invalidArgument, isShimError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { CONTAINER_TYPE_ANNOTATION, type Spec } from "../oci/spec.ts";
import { embeddedAssetDirectory } from "../sea/assets.ts";
import { nativeAddonFile } from "../sea/native.ts";
import { patchCwd } from "./cwd-patch.ts";
import { compileCheck, type Engine, type Prepared } from "./engine.ts";
import { openEntrypoint, type Entrypoint, type OpenedEntrypoint } from "./entrypoint.ts";
import { checkExport, checkExportOf, moduleExports, withExport } from "./guest-entry.ts";
import { hostRuntime } from "./host-libs.ts";
import { openRunnerFiles } from "./image-entrypoint.ts";
import { checkImports, isComponent } from "./imports.ts";
import { keepFacts, knownFacts, type ModuleFacts } from "./module-facts.ts";
import { withPrecompiled } from "./precompiled.ts";
import { checkedOnce } from "./verdicts.ts";
import { closeLaunch, launchLayout, openPrepared, runnerFds, type RunnerLaunch } from "./runner-files.ts";
import { runnerSpec } from "./runner-spec.ts";

/**
 * Create's whole Wasm part: check and prepare the module, open what the runner is handed, and
 * write the runner's own runc bundle (`dir`) beside containerd's. The caller keeps the launch
 * and closes it (closeLaunch) when the container goes.
 */
export async function prepareWasmContainer(
  engine: Engine,
  entry: Entrypoint,
  spec: Spec,
  rootfs: string,
  dir: string,
  log: Logger,
): Promise<RunnerLaunch> {
  const { prepared, moduleBytes } = await prepareModule(engine, entry, log, spec.process?.cwd);
  const runner = await runnerLaunch(prepared, entry);
  try {
    // Not recursive: should containerd have removed the bundle meanwhile (it restarted and
    // took this daemon for dead), Create must fail rather than bring the dir back.
    await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify(runnerSpec(spec, rootfs, launchLayout(runner), entry.path, prepared.data, moduleBytes)),
    );
    return runner;
  } catch (err) {
    closeLaunch(runner);
    throw err;
  }
}

/** What Create made of a module, and its size (which decides the runner's environment, runner-spec.ts). */
export interface PreparedModule {
  prepared: Prepared;
  moduleBytes: number;
}

/** Validates the module (a clear error at Create, not a crash at Start) and lets the engine prepare it. */
export async function prepareModule(
  engine: Engine,
  entry: Entrypoint,
  log: Logger,
  cwd = "/",
): Promise<PreparedModule> {
  // A file an earlier Create read, checked and prepared to nothing (the runner reads it anyway)
  // needs no reading now: one open, for its identity, its size and, when it is not known, its bytes.
  const file = await openEntrypoint(entry);
  return { prepared: await prepareOpened(engine, entry, file, log, cwd), moduleBytes: file.size };
}

async function prepareOpened(
  engine: Engine,
  entry: Entrypoint,
  file: OpenedEntrypoint,
  log: Logger,
  cwd: string,
): Promise<Prepared> {
  const identity = file.identity;
  let known: ModuleFacts | undefined;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    known = identity ? await knownFacts(engine, identity) : undefined;
    if (known && (cwd === "/" || known.cwdNotes[cwd] !== undefined)) {
      if (cwd !== "/") log.info(`working directory ${cwd}: ${known.cwdNotes[cwd]}`, { module: entry.path });
      checkExportOf(engine, { component: known.component, exports: new Map(Object.entries(known.exports)) }, entry);
      return withExport({}, entry);
    }
    bytes = await file.read();
  } finally {
    await file.close();
  }
  // The runner applies the same patch at Start; only here can the reason it could not reach the log.
  const cwdNote = cwd === "/" ? undefined : patchCwd(bytes, cwd).note;
  if (cwdNote !== undefined) log.info(`working directory ${cwd}: ${cwdNote}`, { module: entry.path });
  try {
    // Hashed once: the verdict on the module and the engine's `prepare` both want it.
    let digest: string | undefined;
    const sha256 = () => (digest ??= createHash("sha256").update(bytes).digest("hex"));
    const prepared = await withPrecompiled(entry, { engine, log }, async (precompiled, wantsCompiled) => {
      // A trusted precompiled form of this very module was made after these checks passed.
      if (!precompiled)
        await checkedOnce(
          engine,
          sha256(),
          async () => {
            await (engine.validate ?? compileCheck)(bytes, entry.path);
            await checkImports(engine, bytes, entry.path);
          },
          log,
        );
      checkExport(engine, bytes, entry);
      const made = engine.prepare
        ? await engine.prepare({
            module: bytes,
            path: entry.path,
            digest: sha256(),
            log: (msg) => log.info(msg, { module: entry.path }),
            wantsCompiled,
            ...(precompiled?.length ? { precompiled } : {}),
          })
        : {};
      // What a prepare gives the runner is kept nowhere else: only a module it gave nothing is skipped.
      if (identity && isNothing(made)) await keepFacts(engine, identity, factsOf(bytes, known, cwd, cwdNote), log);
      return made;
    });
    return withExport(prepared, entry);
  } catch (err) {
    throw isShimError(err) ? err : (hostFailure(err) ?? invalidArgument((err as Error).message));
  }
}

/** What module-facts.ts keeps of `bytes`: the working-directory notes met before, and this one. */
function factsOf(
  bytes: Uint8Array,
  before: ModuleFacts | undefined,
  cwd: string,
  note: string | undefined,
): ModuleFacts {
  const component = isComponent(bytes);
  return {
    component,
    exports: component ? {} : Object.fromEntries(moduleExports(bytes)),
    cwdNotes: { ...(before ? before.cwdNotes : {}), ...(note === undefined ? {} : { [cwd]: note }) },
  };
}

/** A `prepare` that gave the runner nothing (node and wasmer have none; jco for a core module). */
const isNothing = (p: Prepared) =>
  Object.keys(p.files ?? {}).length === 0 && Object.keys(p.data ?? {}).length === 0 && !p.compiled;

/** The runner's files (opened once per daemon) and the files `prepare` named (and a Wasm layer), opened for this one process. */
export async function runnerLaunch(prepared: Prepared, entry?: Entrypoint): Promise<RunnerLaunch> {
  const fds = await runnerFds(await hostRuntime(), embeddedAssetDirectory(), nativeAddonFile());
  const files = await openRunnerFiles(prepared.files, entry, openPrepared);
  return files ? { fds, files } : { fds };
}

/** Whether the image config says `architecture: wasm`, asked only when the entrypoint alone does not tell. */
export async function imageIsWasm(
  imageArchitecture: ((id: string) => Promise<string | undefined>) | undefined,
  id: string,
  spec: Spec,
  log: Logger,
): Promise<boolean> {
  // A pod's sandbox is the pause image: not worth four round trips to containerd on every pod start.
  if (!imageArchitecture || spec.annotations?.[CONTAINER_TYPE_ANNOTATION] === "sandbox") return false;
  try {
    return (await imageArchitecture(id)) === "wasm";
  } catch (err) {
    log.debug("cannot read the image config", { id, error: (err as Error).message });
    return false;
  }
}
