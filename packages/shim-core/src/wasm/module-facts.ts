import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.ts";
import type { Engine } from "./engine.ts";
import { pruneVerdicts, verdictDir } from "./verdicts.ts";

/**
 * What Create needs of a module that passed its checks, kept under the identity of the file it
 * was read from: then the next container of the same image file skips reading and hashing it
 * (20-45 and 20 ms for a 31 MB module), as well as the checks its verdict skips (verdicts.ts).
 * Kept only when the engine's `prepare` gave the runner nothing for the module (none: node,
 * wasmer; jco's for a core module): what it gives is kept nowhere else.
 */
export interface ModuleFacts {
  component: boolean;
  /** A core module's exports, name → kind. */
  exports: Record<string, string>;
  /** The log's note on each working directory met so far (cwd-patch.ts): the runner cannot log it. */
  cwdNotes: Record<string, string>;
}

const factsFile = (dir: string, identity: string) => join(dir, `facts-${identity}.json`);

/** The facts kept for this file identity, if a Create of this shim, engine and V8 kept any. */
export async function knownFacts(
  engine: Engine,
  identity: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ModuleFacts | undefined> {
  try {
    const dir = await verdictDir(engine, env);
    const facts = JSON.parse(await readFile(factsFile(dir, identity), "utf8")) as ModuleFacts;
    return typeof facts.component === "boolean" && facts.exports && facts.cwdNotes ? facts : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `facts` for `identity`, replacing what was kept (written whole, then renamed into place). */
export async function keepFacts(
  engine: Engine,
  identity: string,
  facts: ModuleFacts,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  try {
    const dir = await verdictDir(engine, env);
    const file = factsFile(dir, identity);
    const tmp = `${file}.${process.pid}`;
    await writeFile(tmp, JSON.stringify(facts), { mode: 0o600 });
    await rename(tmp, file);
    void pruneVerdicts(dir).catch(() => {});
  } catch (err) {
    log.debug("cannot keep what Create learned of the module", { error: (err as Error).message });
  }
}
