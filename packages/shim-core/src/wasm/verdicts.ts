import { access, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import { shimVersion } from "../sea/version.ts";
import type { Engine } from "./engine.ts";
import { compilerKey } from "./precompiled.ts";
import { shimStateDir } from "./precompile-key.ts";

/**
 * Create's checks of a module (the engine's validation, its imports) are its largest cost for a
 * large one: 80 ms and more for a 30 MB module, for every container, where nothing but the first
 * learns anything. So a module that passed leaves an empty file named for its SHA-256 (`digest`) under
 * `<state dir>/verified/<compiler key>/` (the directory of the node's precompile key, root-only,
 * never mounted into a container), and the next Create of the same bytes under the same shim,
 * engine and V8 skips the checks. A module of an OCI Wasm layer has its verdict in containerd's
 * content store instead (precompiled.ts); this is for modules in an image's files. A directory
 * this process did not make for itself (another owner, writable by others) is not trusted: the
 * checks run as before.
 */
export async function checkedOnce(
  engine: Engine,
  digest: string,
  check: () => Promise<void>,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const dir = await verdictDir(engine, env).catch((err: Error) => {
    log.debug("no verdicts kept for modules", { error: err.message });
    return undefined;
  });
  if (!dir) return check();
  const file = join(dir, digest);
  if (await exists(file)) return;
  await check();
  await writeFile(file, "", { mode: 0o600 }).catch((err: Error) =>
    log.debug("cannot keep the module's verdict", { error: err.message }),
  );
  void pruneVerdicts(dir).catch(() => {});
}

/** How many files a verdict directory keeps (verdicts and module facts). */
export const VERDICTS_KEPT = 2048;

/**
 * Keeps the directory bounded: each new module, and each new file of one (module-facts.ts: a layer
 * pulled again is new files), adds a file, which would otherwise pile up for the node's life (511
 * here after an afternoon of this project's tests, some four CI runs). Beyond `limit`, the oldest
 * go, down to three quarters of it: what goes costs its module one check again, and comes back.
 * Called after a file was added, not awaited.
 */
export async function pruneVerdicts(dir: string, limit = VERDICTS_KEPT): Promise<void> {
  const names = await readdir(dir);
  if (names.length <= limit) return;
  const aged = await Promise.all(
    names.map(async (name) => ({
      name,
      at: await stat(join(dir, name)).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    })),
  );
  aged.sort((a, b) => a.at - b.at);
  for (const { name } of aged.slice(0, names.length - Math.floor((limit * 3) / 4)))
    await rm(join(dir, name), { force: true });
}

const dirs = new Map<string, Promise<string>>();

/** Where this shim, engine and V8 keep what they learned of modules: made once, and only trusted as this user's alone. */
export function verdictDir(engine: Engine, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = join(shimStateDir(engine.name, env), "verified", compilerKey(engine, shimVersion));
  let made = dirs.get(dir);
  if (!made) {
    made = makeTrusted(dir);
    dirs.set(dir, made);
    made.catch(() => dirs.delete(dir));
  }
  return made;
}

async function makeTrusted(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await stat(dir);
  const uid = process.getuid?.() ?? -1;
  if (st.uid !== uid || (st.mode & 0o022) !== 0) throw new Error(`${dir} is not this user's alone`);
  return dir;
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
